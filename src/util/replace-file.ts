/**
 * Replace a file whole: write a temp file beside it, then rename it over, so a reader sees the old
 * file or the new one, never half of one. The temp name is unique per call (pid and random bytes,
 * created exclusively), so two writers in one process, or in two, never rename each other's temp
 * file away: a temp name shared per process made a second write fail with ENOENT when two tasks
 * cached a probe answer at once. A failed write leaves no temp file behind.
 */
import { randomBytes } from "node:crypto";
import { renameSync, rmSync, writeFileSync } from "node:fs";
import { rename, rm, writeFile } from "node:fs/promises";

export interface ReplaceOptions {
  /** The new file's mode (the umask applies): 0o600 for anything ocbox keeps in its state dir. */
  mode: number;
}

function tempName(file: string): string {
  return `${file}.${process.pid}-${randomBytes(4).toString("hex")}.tmp`;
}

export async function replaceFile(file: string, text: string, opts: ReplaceOptions): Promise<void> {
  const tmp = tempName(file);
  try {
    await writeFile(tmp, text, { mode: opts.mode, flag: "wx" });
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/** The same, synchronously (for the few writers that run before anything is async). */
export function replaceFileSync(file: string, text: string | Uint8Array, opts: ReplaceOptions): void {
  const tmp = tempName(file);
  try {
    writeFileSync(tmp, text, { mode: opts.mode, flag: "wx" });
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}
