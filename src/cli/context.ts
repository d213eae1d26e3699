/** What every command action receives: output, the interrupt signal and the engine. */
import type * as DockerEngineModule from "../runtime/docker-engine.js";
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
  /** The engine client; for a command run with `lazyEngine`, only after `loadEngine()`. */
  engine(): Engine;
  /** Load the engine client (dockerode and its dependencies) and return the engine. */
  loadEngine(): Promise<Engine>;
}

type EngineModule = typeof DockerEngineModule;

/** Options of a command's `run`. */
export interface RunOptions {
  /**
   * The engine client is loaded only when the command calls `ctx.loadEngine()` (ocbox run may
   * hand its task to `ocbox serve` and never need it): a start without dockerode.
   */
  lazyEngine?: boolean;
}

export const loadEngineModule = (): Promise<EngineModule> => import("../runtime/docker-engine.js");

export function createContext(globals: GlobalOptions, loaded?: EngineModule): Context {
  const out = createOutput(globals.json ?? false, globals.verbose ?? false);
  const signal = interruptSignal((s) => out.info(`\n${s}: stopping and removing what this command created…`));
  let module = loaded;
  let engine: Engine | undefined;
  const ctx: Context = {
    out,
    signal,
    engine: () => {
      if (!module) throw new Error("ctx.engine() before ctx.loadEngine() in a lazyEngine command");
      return (engine ??= new module.DockerEngine());
    },
    loadEngine: async () => {
      module ??= await loadEngineModule();
      return ctx.engine();
    },
  };
  return ctx;
}
