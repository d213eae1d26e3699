#!/usr/bin/env node
/**
 * The `ocbox` command. Commands are thin layers over library functions; this file is the one
 * exit point: every command returns an exit code or throws a typed error, rendered here.
 */
import { Command, CommanderError } from "commander";
import { ExitCode, OcboxError } from "../errors.js";
import { OPENCODE_VERSION } from "../image/opencode-binary.js";
import { OCBOX_VERSION } from "../version.js";
import { registerClean } from "./commands/clean.js";
import { registerImage } from "./commands/image.js";
import { registerPlan } from "./commands/plan.js";
import { registerRun } from "./commands/run.js";
import { registerScriptedModel } from "./commands/scripted-model.js";
import { registerAttach } from "./commands/attach.js";
import { registerDown } from "./commands/down.js";
import { registerEgress } from "./commands/egress.js";
import { registerEval } from "./commands/eval.js";
import { registerExec } from "./commands/exec.js";
import { registerInit } from "./commands/init.js";
import { registerLs } from "./commands/ls.js";
import { registerUp } from "./commands/up.js";
import { registerWeb } from "./commands/web.js";
import { registerSmoke } from "./commands/smoke.js";
import { registerBridge } from "./commands/bridge.js";
import { registerCheck } from "./commands/check.js";
import { registerDashboard } from "./commands/dashboard.js";
import { registerApprove } from "./commands/approve.js";
import { registerApprovals } from "./commands/approvals.js";
import { createContext, type Context, type GlobalOptions } from "./context.js";
import { asOcboxError, renderError } from "./output.js";
import { TRANSPORT_ENV, transportSetting } from "../sandbox/server-transport.js";

async function main(argv: string[]): Promise<number> {
  let pending: Promise<number> | undefined;
  let globals: GlobalOptions = {};
  const program = new Command("ocbox")
    .description("Run the OpenCode coding agent inside hardened containers.")
    .version(`ocbox ${OCBOX_VERSION} (opencode ${OPENCODE_VERSION})`, "-V, --version")
    .option("--json", "print the result as JSON on stdout")
    .option("-v, --verbose", "show build output and sandbox logs")
    .option(
      "--server-transport <mode>",
      "how ocbox reaches a sandbox's server: auto, port (published 127.0.0.1 port) or exec (relays over the engine connection); also OCBOX_SERVER_TRANSPORT",
    )
    .showHelpAfterError("(run `ocbox --help` for usage)")
    .exitOverride();
  program.hook("preAction", (_this, action) => {
    globals = action.optsWithGlobals<GlobalOptions>();
    // One setting for every sandbox this process starts (sandbox/server-transport.ts).
    if (globals.serverTransport !== undefined) {
      process.env[TRANSPORT_ENV] = globals.serverTransport;
      transportSetting(process.env);
    }
  });
  const run = (fn: (ctx: Context) => Promise<number>) => {
    pending = fn(createContext(globals));
  };
  registerInit(program, run);
  registerUp(program, run);
  registerApprove(program, run);
  registerApprovals(program, run);
  registerWeb(program, run);
  registerAttach(program, run);
  registerLs(program, run);
  registerExec(program, run);
  registerDown(program, run);
  registerEgress(program, run);
  registerSmoke(program, run);
  registerRun(program, run);
  registerPlan(program, run);
  registerEval(program, run);
  registerImage(program, run);
  registerClean(program, run);
  registerScriptedModel(program, run);
  registerDashboard(program, run);
  registerBridge(program, run);
  registerCheck(program, run);

  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version print and exit 0; usage errors were already printed by commander.
      return e.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    }
    throw e;
  }
  return pending ? await pending : ExitCode.ok;
}

const json = process.argv.includes("--json");
main(process.argv)
  .then((code) => process.exit(code))
  .catch((e: unknown) => {
    const error = asOcboxError(e);
    const text = renderError(error, json);
    (json ? process.stdout : process.stderr).write(`${text}\n`);
    process.exit(error instanceof OcboxError ? error.exitCode : ExitCode.failure);
  });
