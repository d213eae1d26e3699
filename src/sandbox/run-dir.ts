import { randomBytes } from "node:crypto";
import { chmod, chown, mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { stateHome } from "../util/paths.js";
import type { Owner } from "../runtime/labels.js";
import type { Ids } from "./ownership.js";
import { removeTree } from "./remove-tree.js";

/** A random server password: 32 bytes, URL-safe. */
export function newPassword(): string {
  return randomBytes(32).toString("base64url");
}

export function runDirsRoot(env: NodeJS.ProcessEnv = process.env): string {
  return join(stateHome(env), "run");
}

/**
 * A per-container directory of staged credentials (server password, generated OpenCode config,
 * later a copy of auth.json), 0700 and owned by the agent user, mounted read-only. It is removed
 * with the container; the reaper removes those of dead owners.
 */
export async function createRunDir(
  owner: Owner,
  agentUser: Ids,
  files: Record<string, string>,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  const root = runDirsRoot(env);
  await mkdir(root, { recursive: true, mode: 0o700 });
  const dir = await mkdtemp(join(root, runDirPrefix(owner)));
  await chmod(dir, 0o700);
  const asRoot = process.getuid?.() === 0;
  for (const [name, content] of Object.entries(files)) {
    const path = join(dir, name);
    await writeFile(path, content, { mode: 0o600 });
    if (asRoot) await chown(path, agentUser.uid, agentUser.gid);
  }
  if (asRoot) await chown(dir, agentUser.uid, agentUser.gid);
  return dir;
}

/** Run dirs are named after their owner process, so the reaper can judge them with no container. */
export function runDirPrefix(owner: Owner): string {
  return `r-${owner.pid}-${owner.start || "0"}-`;
}

/** The owner encoded in a run dir's name (this host's), or undefined for a name ocbox did not make. */
export function runDirOwner(name: string, host: string): Owner | undefined {
  const m = /^r-(\d+)-(\d+)-[A-Za-z0-9]+$/.exec(name);
  if (!m) return undefined;
  return { host, pid: Number(m[1]), start: m[2] === "0" ? "" : (m[2] as string) };
}

/** Remove a run or egress dir without reading or following anything in it (remove-tree.ts). */
export async function removeRunDir(dir: string): Promise<void> {
  await removeTree(dir);
}
