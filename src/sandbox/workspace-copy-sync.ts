/**
 * Copy mode's sync back (issue 14 item 2): the agent's tree is read into staging
 * (workspace-pull.ts), compared three ways with the base and the host's tree (sync-decision.ts),
 * and what the decision writes goes to the host through copy-back.ts, the hardened copy the warm
 * pool and eval use (descriptors, no-follow, masked modes, caps), never through a second one.
 * Deletions are the decision's own: a file or link unlinked, a dir removed only when empty, and
 * only below a parent that is a real dir of the workspace. The host's files are the user's.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import {
  lstat,
  mkdir,
  mkdtemp,
  readlink,
  realpath,
  rename,
  rm,
  rmdir,
  symlink,
  unlink,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, sep } from "node:path";
import type { Engine } from "../runtime/engine.js";
import { LABEL } from "../runtime/labels.js";
import type { CopyBackCaps, LeftOut } from "./copy-back-policy.js";
import { copyBack, type CopyBackReport } from "./copy-back.js";
import { excludedBy } from "./copy-excludes.js";
import {
  agentChanges,
  conflictStamp,
  decideSync,
  nextBase,
  type SyncConflict,
  type Tree,
  type TreeEntry,
} from "./sync-decision.js";
import { prunableNames } from "./workspace-listing.js";
import { pullAgentTree, type PulledTree } from "./workspace-pull.js";
import { SNAPSHOT_DIR, snapshotWorkspace, type WorkspaceSnapshot } from "./workspace-snapshot.js";
import { assertOwnWorkspaceVolume } from "./workspace-volume.js";

export interface SyncReport {
  report: CopyBackReport;
  conflicts: SyncConflict[];
  /** The base for the next sync. */
  base: Map<string, TreeEntry>;
  /** Paths the agent changed (before the decision). */
  changed: number;
  /** Host paths written (the agent's version; NAME.ocbox-conflict-<time> for a conflict) and removed. */
  written: string[];
  deleted: string[];
  /** Files fetched from the sandbox (the listing's candidates). */
  fetched: number;
  ms: number;
  /** The steps: listing, fetch of the candidates, read into staging, the host side. */
  steps: { list: number; fetch: number; pull: number; host: number };
}

export interface SyncOptions {
  caps: CopyBackCaps;
  /** `workspace.exclude`'s patterns: left out both ways. */
  exclude: readonly string[];
  now?: Date;
}

/** The agent's workspace: its volume, and the image and labels its sync helpers get. */
export interface SyncSource {
  image: string;
  volume: string;
  labels: Record<string, string>;
}

/** The host's entry at a relative path (links not followed), hashing files. */
async function hostEntry(workspace: string, path: string): Promise<TreeEntry | undefined> {
  const full = join(workspace, path);
  const st = await lstat(full).catch((e: NodeJS.ErrnoException) => {
    if (e.code === "ENOENT" || e.code === "ENOTDIR") return undefined;
    throw e;
  });
  if (!st) return undefined;
  if (st.isDirectory()) return { kind: "dir" };
  if (st.isSymbolicLink()) return { kind: "link", target: await readlink(full) };
  if (!st.isFile()) return { kind: "file", size: -1, hash: "special", mode: st.mode };
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(full, { flags: "r" })) hash.update(chunk as Buffer);
  return { kind: "file", size: st.size, hash: hash.digest("hex"), mode: st.mode & 0o7777 };
}

async function hostTree(workspace: string, paths: readonly string[]): Promise<Map<string, TreeEntry>> {
  const host = new Map<string, TreeEntry>();
  for (const p of paths) {
    const e = await hostEntry(workspace, p);
    if (e) host.set(p, e);
  }
  return host;
}

/** Dirs of `path` in `out`, each with the host's mode when the host has it, else the agent's. */
async function parents(out: string, path: string, pulled: PulledTree, workspace: string): Promise<void> {
  const parts = path.split("/").slice(0, -1);
  for (let i = 1; i <= parts.length; i++) {
    const rel = parts.slice(0, i).join("/");
    const host = await lstat(join(workspace, rel)).catch(() => undefined);
    const mode = host?.isDirectory() ? host.mode & 0o777 : (pulled.dirModes.get(rel) ?? 0o755);
    await mkdir(join(out, rel), { mode }).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== "EEXIST") throw e;
    });
  }
}

/** Put the agent's entry of `path` at `as` in the out tree; false when there is nothing to put. */
async function place(
  staging: string,
  out: string,
  pulled: PulledTree,
  path: string,
  as: string,
  workspace: string,
): Promise<boolean> {
  const entry = pulled.agent.get(path);
  if (!entry) return false;
  await parents(out, as, pulled, workspace);
  const to = join(out, as);
  if (entry.kind === "dir") {
    await mkdir(to, { mode: pulled.dirModes.get(path) ?? 0o755 }).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== "EEXIST") throw e;
    });
    return true;
  }
  if (entry.kind === "link") {
    await symlink(entry.target, to);
    return true;
  }
  if (!pulled.staged.has(path)) return false;
  await rename(join(staging, path), to);
  return true;
}

/** Remove what the agent removed: below a real dir of the workspace only, a dir only when empty. */
async function remove(workspace: string, root: string, path: string, dir: boolean): Promise<boolean> {
  const full = join(workspace, path);
  const parent = await realpath(dirname(full)).catch(() => undefined);
  if (parent === undefined || (parent !== root && !parent.startsWith(root + sep))) return false;
  try {
    if (dir) await rmdir(full);
    else await unlink(full);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (
      code === "ENOENT" ||
      code === "ENOTEMPTY" ||
      code === "EEXIST" ||
      code === "ENOTDIR" ||
      code === "EISDIR"
    )
      return false;
    throw e;
  }
}

/** The listing's tree with what the fetch brought for its candidates (the host's hashes). */
async function pulledChanges(
  engine: Pick<Engine, "getArchive">,
  snap: WorkspaceSnapshot,
  staging: string,
  base: Tree,
  options: SyncOptions & { excluded: (p: string) => boolean },
): Promise<PulledTree> {
  const { plan } = snap;
  const out: PulledTree = {
    agent: plan.agent,
    staged: new Set(),
    dirModes: plan.dirModes,
    leftOut: plan.leftOut,
  };
  if (snap.id === undefined) return out;
  const pulled = await pullAgentTree(engine, snap.id, SNAPSHOT_DIR, staging, {
    base,
    caps: options.caps,
    excluded: options.excluded,
    trimmed: snap.trimmed,
  });
  for (const path of plan.candidates) {
    const got = pulled.agent.get(path);
    // Not brought (gone since the listing, or not a file any more): its base stays, never a delete.
    if (got?.kind === "file") {
      // The listing's stamp: an agent write since then changes it again, so the next sync refetches.
      const stamp = plan.stamps.get(path);
      out.agent.set(path, stamp === undefined ? got : { ...got, stamp });
    }
    if (pulled.staged.has(path)) out.staged.add(path);
  }
  const wanted = new Set(plan.candidates);
  out.leftOut = [...out.leftOut, ...pulled.leftOut.filter((l) => wanted.has(l.path))];
  return out;
}

/** Bring the agent's work in `source`'s volume back to `workspace`, three ways against `base`. */
export async function syncWorkspaceBack(
  engine: Engine,
  source: SyncSource,
  workspace: string,
  base: Tree,
  options: SyncOptions,
): Promise<SyncReport> {
  const started = performance.now();
  const excluded = excludedBy(options.exclude);
  const snap = await snapshotWorkspace(engine, {
    ...source,
    base,
    caps: options.caps,
    excluded,
    prune: prunableNames(options.exclude),
  });
  // After the listing: a volume the listing's own mount made (empty, unlabelled) is caught too.
  await assertOwnWorkspaceVolume(engine, source.volume, source.labels[LABEL.sandbox]).catch(async (e) => {
    await snap.dispose();
    throw e;
  });
  const work = await mkdtemp(join(tmpdir(), "ocbox-sync-"));
  try {
    const staging = join(work, "staging");
    const out = join(work, "out");
    await mkdir(staging, { mode: 0o700 });
    await mkdir(out, { mode: 0o755 });
    const t0 = performance.now();
    const pulled = await pulledChanges(engine, snap, staging, base, { ...options, excluded });
    const t1 = performance.now();
    const applied = await applyPulled(pulled, { staging, out, workspace, base, options });
    return {
      ...applied,
      fetched: snap.plan.candidates.length,
      ms: performance.now() - started,
      steps: { ...snap.ms, pull: t1 - t0, host: performance.now() - t1 },
    };
  } finally {
    await rm(work, { recursive: true, force: true });
    await snap.dispose();
  }
}

/** The decision for the pulled tree, applied to the host (writes through copy-back.ts, then deletes). */
async function applyPulled(
  pulled: PulledTree,
  at: { staging: string; out: string; workspace: string; base: Tree; options: SyncOptions },
): Promise<Omit<SyncReport, "fetched" | "ms" | "steps">> {
  const { staging, out, workspace, base, options } = at;
  const changed = agentChanges(base, pulled.agent);
  const host = await hostTree(workspace, changed);
  const stamp = conflictStamp(options.now ?? new Date());
  const decision = decideSync(base, host, pulled.agent, changed, stamp);
  const notApplied = new Set<string>();
  const asToPath = new Map<string, string>();
  const placed: string[] = [];
  const deleted: string[] = [];
  const root = await realpath(workspace);
  for (const a of decision.actions) {
    if (a.kind === "write") {
      asToPath.set(a.as, a.path);
      if (await place(staging, out, pulled, a.path, a.as, workspace)) placed.push(a.as);
      else notApplied.add(a.path);
    }
  }
  const report = await copyBack(out, workspace, { caps: options.caps, mirror: false });
  for (const a of decision.actions) {
    if (a.kind === "delete") {
      if (await remove(workspace, root, a.path, a.dir)) deleted.push(a.path);
      else if (!a.dir) notApplied.add(a.path);
    }
  }
  for (const l of report.leftOut) notApplied.add(asToPath.get(l.path) ?? l.path);
  const notWritten = new Set(report.leftOut.map((l) => l.path));
  const leftOut: LeftOut[] = [...pulled.leftOut, ...report.leftOut].sort((a, b) =>
    a.path < b.path ? -1 : a.path > b.path ? 1 : 0,
  );
  return {
    report: { ...report, removed: report.removed + deleted.length, leftOut },
    conflicts: decision.conflicts,
    base: nextBase(base, pulled.agent, notApplied),
    changed: changed.length,
    written: placed.filter((p) => !notWritten.has(p)),
    deleted,
  };
}
