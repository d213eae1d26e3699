/**
 * Where the agent's work waits when it could not be copied back (issue 17 failure 2): a 0700 dir
 * of ocbox's state that neither the reaper nor `ocbox clean` touches, so nothing the agent wrote
 * is deleted before a person has it. ocbox never reads what is kept there.
 */
import { mkdir, rename } from "node:fs/promises";
import { basename, join } from "node:path";
import { errorMessage } from "../errors.js";
import { stateHome } from "../util/paths.js";

export function keptDirsRoot(env: NodeJS.ProcessEnv = process.env): string {
  return join(stateHome(env), "kept");
}

/**
 * Move `dir` under keptDirsRoot() and return its new path. Where it cannot move (another
 * filesystem, say), it stays where it is and that path is returned, with why.
 */
export async function keepDir(dir: string): Promise<{ path: string; moveError?: string }> {
  const root = keptDirsRoot();
  const target = join(root, `${new Date().toISOString().replace(/[:.]/g, "-")}-${basename(dir)}`);
  try {
    await mkdir(root, { recursive: true, mode: 0o700 });
    await rename(dir, target);
    return { path: target };
  } catch (e) {
    return { path: dir, moveError: errorMessage(e) };
  }
}
