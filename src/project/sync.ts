/**
 * `ocbox sync` as a library call (issue 14 item 2): bring the agent's work in `ocbox up`'s
 * copy-mode volume back to the project, three ways against the base kept in the state dir
 * (copy-base.ts): the agent's changes are applied, a host edit made meanwhile is never overwritten
 * (the agent's version goes beside it as NAME.ocbox-conflict-<time>, an edit wins over a delete),
 * and every conflict and every path left out (caps, FIFOs, devices) is listed. The agent may keep
 * working: the sync lists its volume and fetches what changed (workspace-snapshot.ts), written back through
 * the hardened copy (workspace-copy-sync.ts → copy-back.ts). `down` calls it before removing the volume.
 */
import { open, readFile, rm } from "node:fs/promises";
import { OcboxError } from "../errors.js";
import type { Engine } from "../runtime/engine.js";
import { resourceLabels } from "../runtime/labels.js";
import { currentOwner } from "../runtime/owner.js";
import type { LeftOut } from "../sandbox/copy-back-policy.js";
import type { SyncConflict } from "../sandbox/sync-decision.js";
import { syncWorkspaceBack } from "../sandbox/workspace-copy-sync.js";
import type { StateLayout } from "../util/state-layout.js";
import { copyBaseFile, readCopyBase, writeCopyBase, type CopyBase } from "./copy-base.js";

export interface SyncResult {
  sandboxId: string;
  /** The engine volume the agent's copy is in. */
  volume: string;
  workspace: string;
  /** Host paths written: the agent's new or changed entries, and the conflict copies beside host edits. */
  written: string[];
  /** Host paths removed because the agent removed them. */
  deleted: string[];
  conflicts: SyncConflict[];
  /** What did not come back, with the reason (over-file-cap, over-total-cap, fifo, device, ...). */
  skipped: LeftOut[];
  /** Paths the agent changed since the last sync. */
  changed: number;
  /** Files fetched from the sandbox: the ones its listing showed new or changed. */
  fetched: number;
  /** The steps (see workspace-copy-sync.ts) and the whole sync. */
  ms: { list: number; fetch: number; pull: number; host: number; total: number };
}

export interface SyncProjectOptions {
  state: StateLayout;
  now?: Date;
}

/** The project has no copy-mode sandbox (a bind mount, or none up). */
export function noCopyError(state: StateLayout): OcboxError {
  return new OcboxError("USAGE", "this project has no copy-mode workspace to sync", {
    detail: `no ${copyBaseFile(state)}`,
    fix: "`ocbox up --copy` (or `workspace.mode: copy`) starts one; with a bind mount the agent's edits are in the project already.",
  });
}

/** One sync at a time per project: a lock file beside the base (its pid, taken over when that is gone). */
async function lock(state: StateLayout): Promise<() => Promise<void>> {
  const file = `${copyBaseFile(state)}.lock`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(file, "wx", 0o600);
      await handle.writeFile(String(process.pid));
      await handle.close();
      return () => rm(file, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      const pid = Number((await readFile(file, "utf8").catch(() => "")).trim());
      if (Number.isInteger(pid) && pid > 0 && pidAlive(pid)) {
        throw new OcboxError("WORKSPACE_IN_USE", `another sync of this project runs (pid ${pid})`, {
          fix: "Wait for it (an `ocbox sync --watch` syncs on its own), or stop it and run `ocbox sync` again.",
        });
      }
      await rm(file, { force: true });
    }
  }
  throw new OcboxError("UNEXPECTED", `could not take the sync lock ${file}`, {
    fix: "Run `ocbox sync` again.",
  });
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Sync from the record's volume, update the base; the record as it is now stays unchanged on failure. */
export async function syncFromRecord(
  engine: Engine,
  record: CopyBase,
  options: SyncProjectOptions,
): Promise<SyncResult> {
  const started = performance.now();
  if (!(await engine.volumeExists(record.volume))) {
    throw new OcboxError("USAGE", `the agent's copy (engine volume ${record.volume}) is gone`, {
      detail: `${copyBaseFile(options.state)} still names it`,
      fix: "Nothing is left to bring back; `ocbox down --discard` clears the record.",
    });
  }
  const labels = resourceLabels({
    sandboxId: record.sandboxId,
    // Its own run: a helper of this process is never torn down with the sandbox's run.
    runId: `${record.runId}-sync`,
    role: "workspace-sync",
    owner: currentOwner(),
    lifetime: "session",
    startedAt: new Date(),
    workspace: record.workspace,
  });
  const now = options.now ?? new Date();
  const sync = await syncWorkspaceBack(
    engine,
    { image: record.image, volume: record.volume, labels },
    record.workspace,
    record.base,
    { caps: record.caps, exclude: record.exclude, now },
  );
  await writeCopyBase(options.state, { ...record, base: sync.base, at: now.toISOString() });
  return {
    sandboxId: record.sandboxId,
    volume: record.volume,
    workspace: record.workspace,
    written: sync.written,
    deleted: sync.deleted,
    conflicts: sync.conflicts,
    skipped: sync.report.leftOut,
    changed: sync.changed,
    fetched: sync.fetched,
    ms: { ...sync.steps, total: performance.now() - started },
  };
}

/** `ocbox sync`: the project's copy-mode workspace back to the host, once. */
export async function syncProject(engine: Engine, options: SyncProjectOptions): Promise<SyncResult> {
  const unlock = await lock(options.state);
  try {
    const record = await readCopyBase(options.state);
    if (!record) throw noCopyError(options.state);
    return await syncFromRecord(engine, record, options);
  } finally {
    await unlock();
  }
}

export interface WatchOptions extends SyncProjectOptions {
  /** Between the end of one sync and the start of the next. */
  intervalMs: number;
  signal: AbortSignal;
  onResult: (result: SyncResult) => void;
  /** A sync that failed; the watch goes on (a sync that cannot ever work again ends it). */
  onError: (error: unknown) => void;
}

export const DEFAULT_WATCH_INTERVAL_MS = 5000;

/** `ocbox sync --watch`: sync, wait, again, until `signal` aborts or the copy is gone. */
export async function watchProjectSync(engine: Engine, options: WatchOptions): Promise<void> {
  while (!options.signal.aborted) {
    try {
      options.onResult(await syncProject(engine, options));
    } catch (e) {
      if (options.signal.aborted) return;
      // The copy is gone (down ran) or there never was one: nothing further to watch.
      if (e instanceof OcboxError && e.code === "USAGE") throw e;
      options.onError(e);
    }
    await new Promise<void>((resolve) => {
      // One listener per wait, removed when the wait ends (not one more per sync on the signal).
      const onAbort = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        options.signal.removeEventListener("abort", onAbort);
        resolve();
      }, options.intervalMs);
      options.signal.addEventListener("abort", onAbort, { once: true });
    });
  }
}
