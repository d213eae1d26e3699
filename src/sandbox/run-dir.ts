import { randomBytes } from "node:crypto";
import { chmod, chown, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { stateHome } from "../util/paths.js";
import type { Ids } from "./ownership.js";

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
  agentUser: Ids,
  files: Record<string, string>,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  const root = runDirsRoot(env);
  await mkdir(root, { recursive: true, mode: 0o700 });
  const dir = await mkdtemp(join(root, "r-"));
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

export async function removeRunDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}
