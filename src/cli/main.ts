#!/usr/bin/env node
/**
 * The `ocbox` command. Commands are thin layers over library functions; this file is the one
 * exit point: every command returns an exit code or throws a typed error, rendered here.
 */
import "./zod-jitless.js";
import { Command, CommanderError } from "commander";
import { ExitCode, OcboxError } from "../errors.js";
import { VERSION_LINE } from "./version-line.js";
import { commandsFor } from "./command-table.js";
import type { Context, GlobalOptions, RunOptions } from "./context.js";
import { asOcboxError, renderError } from "./output.js";
import { TRANSPORT_ENV, transportSetting } from "../sandbox/transport-setting.js";
import { traceMark, traced } from "../util/trace.js";

async function main(argv: string[]): Promise<number> {
  traceMark("cli.main-loaded");
  let pending: Promise<number> | undefined;
  let globals: GlobalOptions = {};
  const program = new Command("ocbox")
    .description("Run the OpenCode coding agent inside hardened containers.")
    .version(VERSION_LINE, "-V, --version")
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
  const run = (fn: (ctx: Context) => Promise<number>, options: RunOptions = {}) => {
    // The context brings the engine client: loaded when an action runs, not for help or a version
    // (and for a lazyEngine command only when it asks).
    pending = traced("cli.context-loaded", () => import("./context.js")).then(async (m) =>
      fn(m.createContext(globals, options.lazyEngine ? undefined : await m.loadEngineModule())),
    );
  };
  const loaded = await traced("cli.commands-loaded", () =>
    Promise.all(commandsFor(argv).map((c) => c.load())),
  );
  for (const register of loaded) register(program, run);

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
