/**
 * Removing a dir an agent (or the egress sidecar) could write: a warm-pool slot, a staged egress
 * dir, a run dir. Nothing in it is read, and no name in it is followed: each dir is reached
 * through the descriptor of its parent (fd-tree.ts), made searchable and writable through its own
 * descriptor (so a `chmod 0000` or `0300` dir of the agent's is still removed by an ordinary user),
 * and its entries are unlinked by name inside that pinned dir, which never follows a link.
 */
import { chmodSync, rmdirSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { OcboxError, errorMessage } from "../errors.js";
import { MAX_DEPTH, closeFd, listDir, openEntry, openPath, procFd, statFd, yieldNow } from "./fd-tree.js";

/**
 * Remove `path` and everything under it. The last component of `path` is not followed (a link
 * there is removed, not its target); its parent must be a dir only ocbox writes. Throws OWNERSHIP
 * with what was left when something could not be removed. A missing `path` is not an error.
 */
export async function removeTree(path: string): Promise<void> {
  const top = openPath(path);
  if (top === undefined) return;
  const failed: string[] = [];
  let isDir = false;
  try {
    const st = statFd(top);
    isDir = st.isDirectory();
    if (isDir) await emptyDir(top, path, st.dev, 0, failed);
  } finally {
    closeFd(top);
  }
  try {
    if (isDir) rmdirSync(path);
    else unlinkSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") failed.push(`${path}: ${errorMessage(e)}`);
  }
  if (failed.length > 0) {
    throw new OcboxError("OWNERSHIP", `could not remove ${path} entirely`, {
      detail: failed.slice(0, 20).join("\n"),
      fix: "Remove what is left by hand, or run `ocbox clean` again.",
    });
  }
}

let seen = 0;

async function emptyDir(fd: number, path: string, dev: number, depth: number, failed: string[]) {
  if (depth >= MAX_DEPTH) {
    failed.push(`${path}: deeper than ${MAX_DEPTH} levels`);
    return;
  }
  try {
    // Through the descriptor: the dir we hold, whatever its name points at now.
    chmodSync(procFd(fd), 0o700);
  } catch (e) {
    // Not ours (an ordinary user under a dir of another uid): listing may still work.
    if ((e as NodeJS.ErrnoException).code !== "EPERM") throw e;
  }
  let names: string[];
  try {
    names = listDir(fd);
  } catch (e) {
    failed.push(`${path}: cannot list: ${errorMessage(e)}`);
    return;
  }
  for (const name of names) {
    if (++seen % 512 === 0) await yieldNow();
    await removeEntry(fd, name, join(path, name), dev, depth, failed);
  }
}

async function removeEntry(
  dirFd: number,
  name: string,
  path: string,
  dev: number,
  depth: number,
  failed: string[],
) {
  let child: number | undefined;
  try {
    child = openEntry(dirFd, name);
    if (child === undefined) return;
    const st = statFd(child);
    if (st.isDirectory()) {
      // Never into another filesystem (a mount inside the tree is not ours to empty).
      if (st.dev !== dev) {
        failed.push(`${path}: another filesystem is mounted here`);
        return;
      }
      await emptyDir(child, path, dev, depth + 1, failed);
      rmdirSync(procFd(dirFd, name));
    } else {
      unlinkSync(procFd(dirFd, name));
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") failed.push(`${path}: ${errorMessage(e)}`);
  } finally {
    if (child !== undefined) closeFd(child);
  }
}
