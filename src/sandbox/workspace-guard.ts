/**
 * A workspace must not hold ocbox's own dirs (ARCHITECTURE decision 8: control data lives only
 * where the agent cannot write). `ocbox up` in a home folder, or `ocbox run -w ~`, would mount
 * ocbox's state dir (approval records, egress control records, server passwords, kept work) and
 * OpenCode's data dir (the host's auth.json) read-write into the sandbox, and the agent could
 * rewrite what the host later trusts. Refused before anything is created.
 */
import { realpath } from "node:fs/promises";
import { homedir } from "node:os";
import { join, relative, resolve, isAbsolute } from "node:path";
import { OcboxError } from "../errors.js";
import { cacheHome, stateHome } from "../util/paths.js";

export interface GuardedDir {
  path: string;
  what: string;
}

/** The dirs a workspace may not contain: ocbox's state and cache, OpenCode's data (auth.json). */
export function guardedDirs(env: NodeJS.ProcessEnv, home: string): GuardedDir[] {
  const data = join(env.XDG_DATA_HOME || join(home, ".local", "share"), "opencode");
  return [
    { path: stateHome(env, home), what: "ocbox's state dir (approvals, egress control records, passwords)" },
    { path: cacheHome(env, home), what: "ocbox's cache dir" },
    { path: data, what: "OpenCode's data dir on this host (auth.json)" },
  ];
}

/** True when `inner` is `outer` or inside it. Pure; both absolute and resolved. */
export function isInside(inner: string, outer: string): boolean {
  const rel = relative(outer, inner);
  return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel));
}

/** The first guarded dir inside `workspace`, or undefined. Pure. */
export function exposedDir(workspace: string, guarded: readonly GuardedDir[]): GuardedDir | undefined {
  return guarded.find((g) => isInside(g.path, workspace));
}

/** Resolve links the way the engine will when it mounts the path; a missing dir stays as given. */
async function real(path: string): Promise<string> {
  return realpath(path).catch(() => resolve(path));
}

export async function checkWorkspaceBoundary(
  workspace: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  const ws = await real(workspace);
  const guarded = await Promise.all(
    guardedDirs(env, homedir()).map(async (g) => ({ ...g, path: await real(g.path) })),
  );
  const hit = exposedDir(ws, guarded);
  if (!hit) return;
  throw new OcboxError("USAGE", `the workspace ${ws} contains ${hit.what}, ${hit.path}`, {
    detail:
      "The agent can write its whole workspace, so it could rewrite what ocbox trusts on this host. " +
      "ocbox does not mount it.",
    fix:
      "Run ocbox on a project folder that does not hold your home's dot-dirs, " +
      "or move that dir out of the workspace (XDG_STATE_HOME, XDG_CACHE_HOME, XDG_DATA_HOME).",
  });
}
