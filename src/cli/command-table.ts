/**
 * Which command modules a command line needs. Pure apart from the loaders it returns.
 */
import type { Command } from "commander";
import type { Context, RunOptions } from "./context.js";

export type Register = (
  program: Command,
  run: (fn: (ctx: Context) => Promise<number>, options?: RunOptions) => void,
) => void;

/**
 * Each top-level command's module, loaded only when that command runs (or for help), so
 * `ocbox --version` and a command's start pay for no other command's code (the engine client,
 * the SDKs, the MCP SDK). The order is the help's.
 */
export const COMMANDS: ReadonlyArray<{ names: readonly string[]; load: () => Promise<Register> }> = [
  { names: ["init"], load: async () => (await import("./commands/init.js")).registerInit },
  { names: ["up"], load: async () => (await import("./commands/up.js")).registerUp },
  { names: ["approve"], load: async () => (await import("./commands/approve.js")).registerApprove },
  { names: ["approvals"], load: async () => (await import("./commands/approvals.js")).registerApprovals },
  { names: ["web"], load: async () => (await import("./commands/web.js")).registerWeb },
  { names: ["attach"], load: async () => (await import("./commands/attach.js")).registerAttach },
  { names: ["ls", "status"], load: async () => (await import("./commands/ls.js")).registerLs },
  { names: ["exec"], load: async () => (await import("./commands/exec.js")).registerExec },
  { names: ["sync"], load: async () => (await import("./commands/sync.js")).registerSync },
  { names: ["down"], load: async () => (await import("./commands/down.js")).registerDown },
  { names: ["egress"], load: async () => (await import("./commands/egress.js")).registerEgress },
  { names: ["smoke"], load: async () => (await import("./commands/smoke.js")).registerSmoke },
  { names: ["run"], load: async () => (await import("./commands/run.js")).registerRun },
  { names: ["plan"], load: async () => (await import("./commands/plan.js")).registerPlan },
  { names: ["eval"], load: async () => (await import("./commands/eval.js")).registerEval },
  { names: ["image"], load: async () => (await import("./commands/image.js")).registerImage },
  { names: ["clean"], load: async () => (await import("./commands/clean.js")).registerClean },
  {
    names: ["scripted-model"],
    load: async () => (await import("./commands/scripted-model.js")).registerScriptedModel,
  },
  { names: ["dashboard"], load: async () => (await import("./commands/dashboard.js")).registerDashboard },
  { names: ["bridge"], load: async () => (await import("./commands/bridge.js")).registerBridge },
  { names: ["serve"], load: async () => (await import("./commands/serve.js")).registerServe },
  { names: ["relay"], load: async () => (await import("./commands/relay.js")).registerRelay },
  { names: ["check", "scan"], load: async () => (await import("./commands/check.js")).registerCheck },
];

/**
 * The commands argv needs: the one it names (the first word; global options take no value), none
 * for `--version` alone, all for help, no command, or a name that is not one (commander then says so).
 */
export function commandsFor(argv: readonly string[]): typeof COMMANDS {
  const words = argv.slice(2);
  const first = words.find((w) => !w.startsWith("-"));
  if (first === undefined)
    return words.some((w) => w === "-V" || w === "--version") &&
      !words.some((w) => w === "-h" || w === "--help")
      ? []
      : COMMANDS;
  const named = COMMANDS.filter((c) => c.names.includes(first));
  return named.length > 0 ? named : COMMANDS;
}
