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
import { collectEgressDir } from "../egress/sidecar.js";
import type { ContainerSummary, Engine } from "../runtime/engine.js";
import { LABEL, ownerOf, shouldReap, type Liveness, type Owner } from "../runtime/labels.js";
import { ownerLiveness } from "../runtime/owner.js";
import { isCacheVolume } from "./cache-volumes.js";
import { parseLoan, returnWorkspace } from "./ownership.js";
import { removeRunDir, runDirOwner, runDirsRoot } from "./run-dir.js";

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
 * Host dirs that containers still name (staged credentials and the egress sidecar's dir), so the
 * reaper leaves them while those containers live, whoever started them. Pure.
 */
export function dirsInUse(containers: readonly ContainerSummary[]): Set<string> {
  return new Set(
    containers
      .flatMap((c) => [c.labels[LABEL.runDir], c.labels[LABEL.egressDir]])
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

  const all = await engine.listContainers([`${LABEL.managed}=true`], true);
  const doomed = containersToReap(all, host, liveness, options.stopped ?? false);
  const doomedIds = new Set(doomed.map((c) => c.id));
  // Agents first: the sidecar serves them until they are gone.
  const ordered = [...doomed].sort(
    (a, b) => Number(b.labels[LABEL.role] === "agent") - Number(a.labels[LABEL.role] === "agent"),
  );
  for (const c of ordered) {
    const removed = await attempt(`container ${c.name}`, async () => {
      await engine.stopContainer(c.id, 2);
      await engine.removeContainer(c.id);
    });
    if (!removed) continue;
    report.containers.push(c.name);
    const loan = parseLoan(c.labels[LABEL.loan]);
    const workspace = c.labels[LABEL.workspace];
    if (loan && workspace && c.labels[LABEL.role] === "agent" && process.getuid?.() === loan.hostUser.uid) {
      if (
        await attempt(`give back ${workspace}`, () =>
          returnWorkspace(workspace, loan.hostUser, loan.agentUser),
        )
      ) {
        report.workspaces.push(workspace);
      }
    }
  }

  const survivors = all.filter((c) => !doomedIds.has(c.id));
  const stillUsed = dirsInUse(survivors);
  const survivingRuns = new Set(survivors.map((c) => `${c.labels[LABEL.sandbox]}/${c.labels[LABEL.run]}`));

  for (const v of await engine.listVolumes([`${LABEL.managed}=true`])) {
    // Performance volumes (E11) outlive every run on purpose: only `ocbox clean --volumes` removes them.
    if (isCacheVolume(v.labels)) continue;
    const inUse = survivingRuns.has(`${v.labels[LABEL.sandbox]}/${v.labels[LABEL.run]}`);
    // A volume outlives nothing: once no container of its run is left and its creator is gone
    // (detached sandboxes included), it is garbage.
    const owner = ownerOf(v.labels);
    if (inUse || !owner || owner.host !== host || liveness(owner) !== "dead") continue;
    if (await attempt(`volume ${v.name}`, () => engine.removeVolume(v.name))) report.volumes.push(v.name);
  }

  const root = runDirsRoot(options.env);
  const entries = await readdir(root).catch(() => [] as string[]);
  for (const name of entries) {
    const dir = join(root, name);
    const owner = runDirOwner(name, host);
    if (!owner || stillUsed.has(dir) || liveness(owner) !== "dead") continue;
    // An egress dir's decisions go to the sandbox's decision log first (its creator crashed).
    await collectEgressDir(dir).catch(() => undefined);
    if (await attempt(`run dir ${dir}`, () => removeRunDir(dir))) report.runDirs.push(dir);
  }
  return report;
}

/** True when the reaper did anything worth telling the user about. */
export function reapedAnything(r: ReapReport): boolean {
  return r.containers.length + r.volumes.length + r.runDirs.length + r.errors.length > 0;
}
