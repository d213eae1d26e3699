/**
 * Copy a workspace into a warm sandbox's slot dir (host to sandbox; symlinks copied as links). The
 * agent's work comes back through copy-back.ts, which distrusts what it reads.
 */
import { cp } from "node:fs/promises";

export async function copyInto(source: string, target: string): Promise<void> {
  await cp(source, target, {
    recursive: true,
    preserveTimestamps: true,
    verbatimSymlinks: true,
    force: true,
    errorOnExist: false,
  });
}
