/**
 * Copy a workspace into a warm sandbox's slot dir, and bring the agent's work back: the target
 * ends up with exactly the source's entries (new and changed files copied, removed ones deleted).
 * Symlinks are copied as links, never followed; only regular files, dirs and links are handled.
 */
import {
  copyFile,
  cp,
  lstat,
  mkdir,
  readdir,
  readlink,
  rm,
  symlink,
  unlink,
  utimes,
  chmod,
} from "node:fs/promises";
import { join } from "node:path";

export async function copyInto(source: string, target: string): Promise<void> {
  await cp(source, target, {
    recursive: true,
    preserveTimestamps: true,
    verbatimSymlinks: true,
    force: true,
    errorOnExist: false,
  });
}

export interface SyncStats {
  copied: number;
  removed: number;
  unchanged: number;
}

/** Make `target` mirror `source`. Returns what changed. */
export async function syncTree(source: string, target: string): Promise<SyncStats> {
  const stats: SyncStats = { copied: 0, removed: 0, unchanged: 0 };
  const walk = async (src: string, dst: string): Promise<void> => {
    const names = await readdir(src);
    const wanted = new Set(names);
    for (const name of await readdir(dst).catch(() => [] as string[])) {
      if (!wanted.has(name)) {
        await rm(join(dst, name), { recursive: true, force: true });
        stats.removed++;
      }
    }
    for (const name of names) {
      const s = join(src, name);
      const d = join(dst, name);
      const ss = await lstat(s);
      const ds = await lstat(d).catch(() => undefined);
      if (ss.isDirectory()) {
        if (ds && !ds.isDirectory()) await rm(d, { recursive: true, force: true });
        if (!ds?.isDirectory()) await mkdir(d, { mode: ss.mode & 0o7777 });
        await walk(s, d);
        await chmod(d, ss.mode & 0o7777);
      } else if (ss.isSymbolicLink()) {
        const link = await readlink(s);
        if (ds?.isSymbolicLink() && (await readlink(d)) === link) {
          stats.unchanged++;
          continue;
        }
        if (ds) await rm(d, { recursive: true, force: true });
        await symlink(link, d);
        stats.copied++;
      } else if (ss.isFile()) {
        if (
          ds?.isFile() &&
          ds.size === ss.size &&
          Math.abs(ds.mtimeMs - ss.mtimeMs) < 2 &&
          (ds.mode & 0o7777) === (ss.mode & 0o7777)
        ) {
          stats.unchanged++;
          continue;
        }
        if (ds && !ds.isFile()) await rm(d, { recursive: true, force: true });
        else if (ds) await unlink(d);
        await copyFile(s, d);
        await chmod(d, ss.mode & 0o7777);
        await utimes(d, ss.atime, ss.mtime);
        stats.copied++;
      }
    }
  };
  await walk(source, target);
  return stats;
}
