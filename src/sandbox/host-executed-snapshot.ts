/**
 * A snapshot of the workspace's host-executed files (host-executed-edits.ts) for the before and
 * after of a session or a task. The workspace is the agent's: nothing is followed (a symlinked
 * parent or file is fingerprinted as the link itself), FIFOs and devices are never opened, and
 * at most READ_CAP bytes of a file are hashed (its size goes into the fingerprint).
 */
import { createHash } from "node:crypto";
import { constants } from "node:fs";
import { lstat, open, readdir, readlink } from "node:fs/promises";
import { join } from "node:path";
import { GIT_HOOKS_DIR, HOST_EXECUTED_FILES, type HostExecSnapshot } from "./host-executed-edits.js";

const READ_CAP = 4 * 1024 * 1024;
/** Hook entries fingerprinted; git knows about 30 hook names. */
const MAX_HOOKS = 1000;

/** The first READ_CAP bytes of a regular file, opened without following a link; undefined if not one. */
async function readCapped(file: string): Promise<{ bytes: Buffer; size: number; mode: number } | undefined> {
  const fd = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch(
    () => undefined,
  );
  if (!fd) return undefined;
  try {
    const st = await fd.stat();
    if (!st.isFile()) return undefined;
    const buf = Buffer.alloc(Math.min(st.size, READ_CAP));
    const { bytesRead } = await fd.read(buf, 0, buf.length, 0);
    return { bytes: buf.subarray(0, bytesRead), size: st.size, mode: st.mode };
  } finally {
    await fd.close();
  }
}

/** What is at `file`, as a string that changes when its content, type or exec bit does. */
async function fingerprint(file: string): Promise<string | undefined> {
  const st = await lstat(file).catch(() => undefined);
  if (!st) return undefined;
  if (st.isSymbolicLink()) return `symlink:${await readlink(file).catch(() => "?")}`;
  if (st.isDirectory()) return "dir";
  if (!st.isFile()) return "special";
  const read = await readCapped(file);
  if (!read) return "unreadable";
  const hash = createHash("sha256").update(read.bytes).digest("hex");
  return `sha256:${hash}:${read.size}:${read.mode & 0o111 ? "x" : "-"}`;
}

/** Whether every folder between `root` and `rel`'s parent is a real folder (no link). */
async function realParents(root: string, rel: string): Promise<boolean> {
  const parts = rel.split("/").slice(0, -1);
  for (let i = 1; i <= parts.length; i++) {
    const st = await lstat(join(root, ...parts.slice(0, i))).catch(() => undefined);
    if (!st?.isDirectory() || st.isSymbolicLink()) return false;
  }
  return true;
}

async function packageScripts(root: string): Promise<Record<string, string> | null> {
  const read = await readCapped(join(root, "package.json"));
  if (!read) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(read.bytes.toString("utf8"));
  } catch (e) {
    if (e instanceof SyntaxError) return null;
    throw e;
  }
  const scripts = (parsed as { scripts?: unknown } | null)?.scripts;
  if (typeof scripts !== "object" || scripts === null || Array.isArray(scripts)) return null;
  return Object.fromEntries(
    Object.entries(scripts).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]),
  );
}

/** The host-executed files of `workspace` (and `hookPath`, relative to it, when given). */
export async function snapshotHostExecuted(workspace: string, hookPath?: string): Promise<HostExecSnapshot> {
  const files: Record<string, string> = {};
  const note = async (rel: string) => {
    if (!(await realParents(workspace, rel))) return;
    const fp = await fingerprint(join(workspace, rel));
    if (fp !== undefined) files[rel] = fp;
  };
  // A `.git` that is not a real folder (a link, a `gitdir:` file) points git somewhere else.
  const git = await fingerprint(join(workspace, ".git"));
  if (git !== undefined && git !== "dir") files[".git"] = git;
  for (const rel of [...HOST_EXECUTED_FILES, ...(hookPath ? [hookPath] : [])]) await note(rel);
  if (await realParents(workspace, `${GIT_HOOKS_DIR}/x`)) {
    const hooksDir = join(workspace, GIT_HOOKS_DIR);
    const st = await lstat(hooksDir).catch(() => undefined);
    const names = st?.isDirectory() ? await readdir(hooksDir).catch(() => undefined) : [];
    if (names === undefined) files[GIT_HOOKS_DIR] = "unreadable";
    const hooks = (names ?? []).filter((n) => !n.endsWith(".sample")).sort();
    if (hooks.length > MAX_HOOKS) files[GIT_HOOKS_DIR] = `too many entries: ${hooks.length}`;
    for (const name of hooks.slice(0, MAX_HOOKS)) await note(`${GIT_HOOKS_DIR}/${name}`);
  }
  return { files, packageScripts: await packageScripts(workspace) };
}
