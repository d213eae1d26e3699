/**
 * Every CLI command is a thin layer over a library function that `import("ocbox")` exports
 * (ARCHITECTURE: "every command has a library twin"). The commands are read from the CLI's own
 * register functions, so a new command without a twin here fails this test.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { Command } from "commander";
import { expect, it } from "vitest";
import * as library from "../../src/index.js";

/** The command (its full name) → the exported functions it is a layer over. */
const TWINS: Record<string, readonly string[]> = {
  init: ["initProject"],
  up: ["upProject"],
  web: ["openWebFront"],
  attach: ["runAttach"],
  ls: ["listSandboxes"],
  status: ["findProjectSandbox"],
  exec: ["execAttachedInProject"],
  down: ["downProject"],
  sync: ["syncProject", "watchProjectSync"],
  "egress log": ["projectDecisions", "egressLogReport"],
  "egress suggest": ["projectDecisions", "egressSuggestReport"],
  smoke: ["smoke"],
  run: ["runTask", "dryPlanTask"],
  plan: ["plan", "planView", "dryPlanTask", "dryPlanUp"],
  "eval run": ["runEval", "dryPlanTask"],
  "eval judge": ["runJudge"],
  "eval report": ["writeSummary", "writeReport"],
  "eval prune": ["pruneEval"],
  "eval tasks": ["loadTaskSet", "viewTaskSet", "buildTaskImages"],
  approve: ["reviewApprovals", "approveScope"],
  "approvals revoke": ["revokeApproval"],
  "image build": ["ensureImages"],
  "image bootstrap": ["bootstrapBase"],
  clean: ["reap", "removeProjectState", "removeCacheVolumes", "reapRelays"],
  relay: ["serveRelay", "startDetachedRelay", "relayState", "stopRelay"],
  "scripted-model": ["startScriptedModel"],
  dashboard: ["openDashboard"],
  bridge: ["openBridge"],
  "serve status": ["openService", "serviceStatus"],
  "serve stop": ["stopService"],
  "serve logs": ["serviceLog"],
  check: ["checkProject"],
  scan: ["scanImage"],
};

type Register = (program: Command, run: () => void) => void;

async function cliCommands(): Promise<string[]> {
  const program = new Command("ocbox");
  const dir = join(import.meta.dirname, "../../src/cli/commands");
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".ts"))) {
    const mod = (await import(join(dir, file))) as Record<string, unknown>;
    for (const [name, fn] of Object.entries(mod))
      if (name.startsWith("register") && typeof fn === "function") (fn as Register)(program, () => undefined);
  }
  const names: string[] = [];
  const walk = (cmd: Command, prefix: string) => {
    for (const sub of cmd.commands) {
      const full = `${prefix}${sub.name()}`;
      if (sub.commands.length > 0) walk(sub, `${full} `);
      else names.push(full);
    }
  };
  walk(program, "");
  return names.sort();
}

it("every CLI command maps to functions the library exports", async () => {
  const commands = await cliCommands();
  expect(commands.length).toBeGreaterThan(20);
  const exported = library as unknown as Record<string, unknown>;
  const missing = commands.filter((c) => TWINS[c] === undefined);
  expect(missing, "commands with no library twin in TWINS").toEqual([]);
  expect(
    Object.keys(TWINS).filter((c) => !commands.includes(c)),
    "TWINS names no such command",
  ).toEqual([]);
  for (const [command, fns] of Object.entries(TWINS))
    for (const fn of fns)
      expect(typeof exported[fn], `${command}: ${fn} exported as a function`).toBe("function");
}, 60_000);
