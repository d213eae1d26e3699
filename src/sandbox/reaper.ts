/**
 * The reaper (ARCHITECTURE decision 6). Everything ocbox creates is labelled with its owner
 * process; when that process is gone (killed, crashed, the machine slept through a Ctrl+C),
 * its containers, socket volumes and staged-credential dirs are removed, and a workspace that was
 * lent to the agent user is given back. It runs at the start of every command that creates
 * containers, and on demand as `ocbox clean`.
 */
import { readdir } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { errorMessage } from "../errors.js";
import { egressControlRoot, egressIdOf, removeEgressControl } from "../egress/control.js";
import { collectEgress } from "./egress-log.js";
import type { ContainerSummary, Engine } from "../runtime/engine.js";
import { LABEL, ownerOf, shouldReap, type Liveness, type Owner } from "../runtime/labels.js";
import { ownerLiveness } from "../runtime/owner.js";
import { isCacheVolume } from "./cache-volumes.js";
import { isKeptWorkspace } from "./workspace-volume.js";
import { removeRunDir, runDirOwner, runDirsRoot } from "./run-dir.js";
import { removeSlotDir, slotOwner, slotsRoot } from "./slot-dir.js";
import { partsFromLabels, tearDown } from "./teardown.js";

export interface ReapOptions {
  /** Also remove stopped containers of detached sandboxes (`ocbox clean`). */
  stopped?: boolean;
  /** Overridable for tests. */
  liveness?: (owner: Owner) => Liveness;
  host?: string;
  env?: NodeJS.ProcessEnv;
}

export interface ReapReport {
  containers: string[];
  volumes: string[];
  runDirs: string[];
  /** Workspaces given back to their host owner. */
  workspaces: string[];
  /** What could not be removed, with why. The reaper never throws for one stuck resource. */
  errors: string[];
}

/** Which containers to remove: owner gone, or (with `stopped`) a detached sandbox that has exited. Pure. */
export function containersToReap(
  containers: readonly ContainerSummary[],
  host: string,
  liveness: (owner: Owner) => Liveness,
  stopped: boolean,
): ContainerSummary[] {
  return containers.filter(
    (c) =>
      shouldReap(c.labels, host, liveness) ||
      (stopped &&
        c.state !== "running" &&
        c.labels[LABEL.ownerHost] === host &&
        c.labels[LABEL.lifetime] === "detached"),
  );
}

/**
 * Host paths that containers still name (the egress control record, the workspace, which may be
 * a warm-pool slot, and an older ocbox's run dir), so the
 * reaper leaves them while those containers live, whoever started them. Pure.
 */
export function dirsInUse(containers: readonly ContainerSummary[]): Set<string> {
  return new Set(
    containers
      .flatMap((c) => [c.labels[LABEL.runDir], c.labels[LABEL.egressControl], c.labels[LABEL.workspace]])
      .filter((d): d is string => d !== undefined && d !== ""),
  );
}

export async function reap(engine: Engine, options: ReapOptions = {}): Promise<ReapReport> {
  const host = options.host ?? hostname();
  const liveness = options.liveness ?? ownerLiveness;
  const report: ReapReport = { containers: [], volumes: [], runDirs: [], workspaces: [], errors: [] };
  const attempt = async (what: string, fn: () => Promise<unknown>): Promise<boolean> => {
    try {
      await fn();
      return true;
    } catch (e) {
      report.errors.push(`${what}: ${errorMessage(e)}`);
      return false;
    }
  };

  // Both asked at once (one engine round on every `up`, `run` and `eval`).
  const [all, volumes] = await Promise.all([
    engine.listContainers([`${LABEL.managed}=true`], true),
    engine.listVolumes([`${LABEL.managed}=true`]),
  ]);
  const doomed = containersToReap(all, host, liveness, options.stopped ?? false);
  // Each doomed run is torn down as one sandbox: agents first, its dirs once its containers are gone.
  for (const run of groupByRun(doomed)) {
    const parts = partsFromLabels(
      run,
      volumes.filter((v) => !isCacheVolume(v.labels) && !isKeptWorkspace(v.labels)),
      process.getuid?.(),
    );
    const torn = await tearDown(engine, parts, { agentStopS: 2, otherStopS: 2 });
    report.containers.push(...torn.containers);
    report.volumes.push(...torn.volumes);
    report.runDirs.push(...torn.dirs);
    report.workspaces.push(...torn.workspaces);
    report.errors.push(...torn.errors);
  }

  const removedNames = new Set(report.containers);
  const survivors = all.filter((c) => !removedNames.has(c.name));
  const stillUsed = dirsInUse(survivors);
  const survivingRuns = new Set(survivors.map((c) => `${c.labels[LABEL.sandbox]}/${c.labels[LABEL.run]}`));
  const removedVolumes = new Set(report.volumes);
  const env = options.env ?? process.env;
  // Before the volumes go: the decisions still in the egress volumes of crashed owners.
  await reapControls(engine, { host, liveness, env, inUse: stillUsed, report, attempt });

  for (const v of volumes) {
    // Performance volumes (E11) outlive every run on purpose: only `ocbox clean --volumes` removes them.
    // So is `ocbox up`'s copy-mode workspace until a sync brought the agent's work back.
    if (isCacheVolume(v.labels) || isKeptWorkspace(v.labels) || removedVolumes.has(v.name)) continue;
    const inUse = survivingRuns.has(`${v.labels[LABEL.sandbox]}/${v.labels[LABEL.run]}`);
    // A volume outlives nothing: once no container of its run is left and its creator is gone
    // (detached sandboxes included), it is garbage.
    const owner = ownerOf(v.labels);
    if (inUse || !owner || owner.host !== host || liveness(owner) !== "dead") continue;
    if (await attempt(`volume ${v.name}`, () => engine.removeVolume(v.name))) report.volumes.push(v.name);
  }

  await reapDirs({ host, liveness, env, inUse: stillUsed, report, attempt });
  return report;
}

/** Containers grouped by sandbox and run, in first-seen order. Pure. */
export function groupByRun(containers: readonly ContainerSummary[]): ContainerSummary[][] {
  const runs = new Map<string, ContainerSummary[]>();
  for (const c of containers) {
    const key = `${c.labels[LABEL.sandbox]}/${c.labels[LABEL.run]}`;
    runs.set(key, [...(runs.get(key) ?? []), c]);
  }
  return [...runs.values()];
}

interface DirReap {
  host: string;
  liveness: (owner: Owner) => Liveness;
  env: NodeJS.ProcessEnv;
  /** Dirs that a container still left names (run, egress and slot dirs). */
  inUse: Set<string>;
  report: ReapReport;
  attempt: (what: string, fn: () => Promise<unknown>) => Promise<boolean>;
}

/**
 * The egress control records of dead owners whose sidecar is gone: the decisions still in the
 * sidecar's volume go to the sandbox's decision log (its creator crashed), read only as ocbox's
 * own record (a dir no container mounts) says; then the record goes.
 */
async function reapControls(engine: Engine, r: DirReap): Promise<void> {
  const controlRoot = egressControlRoot(r.env);
  for (const name of await entries(controlRoot)) {
    const id = egressIdOf(name);
    const file = join(controlRoot, name);
    if (!id || r.inUse.has(file) || !dead(r, runDirOwner(id, r.host))) continue;
    await r.attempt(`egress decisions of ${id}`, () => collectEgress(engine, file, undefined));
    await r.attempt(`egress control ${file}`, () => removeEgressControl(file));
  }
}

function dead(r: DirReap, owner: Owner | undefined): owner is Owner {
  return owner !== undefined && r.liveness(owner) === "dead";
}

/**
 * The dirs of dead owners: run dirs (of sandboxes an ocbox before engine volumes started) and
 * warm-pool slots, removed without reading or following anything in them: the agent could have
 * written all of it.
 */
async function reapDirs(r: DirReap): Promise<void> {
  const runRoot = runDirsRoot(r.env);
  for (const name of await entries(runRoot)) {
    const dir = join(runRoot, name);
    if (r.inUse.has(dir) || !dead(r, runDirOwner(name, r.host))) continue;
    if (await r.attempt(`run dir ${dir}`, () => removeRunDir(dir))) r.report.runDirs.push(dir);
  }
  const slots = slotsRoot(r.env);
  for (const name of await entries(slots)) {
    const dir = join(slots, name);
    if (r.inUse.has(dir) || !dead(r, slotOwner(name, r.host))) continue;
    if (await r.attempt(`warm-pool slot ${dir}`, () => removeSlotDir(dir))) r.report.runDirs.push(dir);
  }
}

async function entries(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw e;
  }
}

/** True when the reaper did anything worth telling the user about. */
export function reapedAnything(r: ReapReport): boolean {
  return r.containers.length + r.volumes.length + r.runDirs.length + r.errors.length > 0;
}
