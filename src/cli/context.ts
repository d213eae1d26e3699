/** What every command action receives: output, the interrupt signal and the engine. */
import { DockerEngine } from "../runtime/docker-engine.js";
import type { Engine } from "../runtime/engine.js";
import { interruptSignal } from "./interrupt.js";
import { createOutput, type Output } from "./output.js";

export interface GlobalOptions {
  json?: boolean;
  verbose?: boolean;
  /** `--server-transport`: auto, port or exec (OCBOX_SERVER_TRANSPORT). */
  serverTransport?: string;
}

export interface Context {
  out: Output;
  signal: AbortSignal;
  engine(): Engine;
}

export function createContext(globals: GlobalOptions): Context {
  const out = createOutput(globals.json ?? false, globals.verbose ?? false);
  const signal = interruptSignal((s) => out.info(`\n${s}: stopping and removing what this command created…`));
  let engine: Engine | undefined;
  return { out, signal, engine: () => (engine ??= new DockerEngine()) };
}
