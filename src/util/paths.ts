import { homedir } from "node:os";
import { join } from "node:path";

/** XDG base directories, with the spec's defaults. */
export function stateHome(env: NodeJS.ProcessEnv = process.env, home = homedir()): string {
  return join(env.XDG_STATE_HOME || join(home, ".local", "state"), "ocbox");
}

export function cacheHome(env: NodeJS.ProcessEnv = process.env, home = homedir()): string {
  return join(env.XDG_CACHE_HOME || join(home, ".cache"), "ocbox");
}

/** The package's own root (where assets/ lives), from dist/util or src/util. */
export function packageRoot(): string {
  return join(new URL(".", import.meta.url).pathname, "..", "..");
}
