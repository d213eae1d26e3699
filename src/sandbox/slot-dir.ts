/**
 * Warm-pool slots (executor/warm-pool.ts): the dir a warm sandbox mounts at /workspace, so the
 * agent's to write from its first second. They live under a root of their own, apart from run
 * dirs and egress dirs, with names no other parser matches: the reaper removes a dead owner's
 * slot without reading anything in it (remove-tree.ts), and never mistakes one for a dir of
 * ocbox's own (the host boundary, SECURITY.md).
 */
import { chmodSync } from "node:fs";
import { chown, mkdir, mkdtemp } from "node:fs/promises";
import { join } from "node:path";
import type { Owner } from "../runtime/labels.js";
import { stateHome } from "../util/paths.js";
import { MAX_DEPTH, closeFd, listDir, openDirPath, openEntry, procFd, statFd, yieldNow } from "./fd-tree.js";
import type { Ids } from "./ownership.js";
import { removeTree } from "./remove-tree.js";

export function slotsRoot(env: NodeJS.ProcessEnv = process.env): string {
  return join(stateHome(env), "slots");
}

export function slotPrefix(owner: Owner): string {
  return `slot-${owner.pid}-${owner.start || "0"}-`;
}

/** The owner encoded in a slot's name (this host's), or undefined for a name that is not a slot's. */
export function slotOwner(name: string, host: string): Owner | undefined {
  const m = /^slot-(\d+)-(\d+)-[A-Za-z0-9]+$/.exec(name);
  if (!m) return undefined;
  return { host, pid: Number(m[1]), start: m[2] === "0" ? "" : (m[2] as string) };
}

/** A new empty slot, the agent's when ocbox runs as root (the root of the slots is 0700, the host's). */
export async function createSlotDir(owner: Owner, agentUser: Ids, env: NodeJS.ProcessEnv = process.env) {
  const root = slotsRoot(env);
  await mkdir(root, { recursive: true, mode: 0o700 });
  const dir = await mkdtemp(join(root, slotPrefix(owner)));
  if (process.getuid?.() === 0) await chown(dir, agentUser.uid, agentUser.gid);
  return dir;
}

/**
 * Before the sync back, as an ordinary user (the agent's uid is the host user's): give the owner
 * search and read rights on every dir of the slot that the agent closed (`chmod 0300 /workspace`,
 * `chmod 0000 d`), through each dir's descriptor, so that its work can be copied at all. Only dirs
 * are changed (files keep their modes), links are never followed, and the walk stays on the
 * slot's filesystem. Root reads everything and needs none of it.
 */
export async function openSlotForSync(dir: string): Promise<void> {
  if (process.getuid?.() === 0) return;
  const uid = process.getuid?.();
  let seen = 0;
  const visit = async (fd: number, depth: number, dev: number): Promise<void> => {
    const st = statFd(fd);
    if (!st.isDirectory() || st.dev !== dev || st.uid !== uid || depth >= MAX_DEPTH) return;
    if ((st.mode & 0o500) !== 0o500) chmodSync(procFd(fd), (st.mode & 0o7777) | 0o700);
    for (const name of listDir(fd)) {
      if (++seen % 512 === 0) await yieldNow();
      const child = openEntry(fd, name);
      if (child === undefined) continue;
      try {
        await visit(child, depth + 1, dev);
      } finally {
        closeFd(child);
      }
    }
  };
  const top = openDirPath(dir);
  try {
    await visit(top, 0, statFd(top).dev);
  } finally {
    closeFd(top);
  }
}

/** Remove a slot and everything the agent left in it, reading and following nothing. */
export const removeSlotDir = (dir: string) => removeTree(dir);
