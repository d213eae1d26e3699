/**
 * Performance volumes (FEATURES E11), the engine side: make sure each volume exists and belongs
 * to the agent's uid:gid before the agent container mounts it, and remove them on request
 * (`ocbox clean --volumes`).
 *
 * A fresh named volume is root-owned and the agent is never root, so its root dir is given to
 * the agent once, by a one-shot container (CAP_CHOWN only, no network). The volume is created
 * with a label naming that owner and removed again when the init fails, so a labelled volume is an
 * initialised one: the next run sees the label and starts no container. (A process killed between
 * the two steps leaves a root-owned volume; `ocbox clean --volumes` clears it.)
 */
import { randomBytes } from "node:crypto";
import { lstat, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { OcboxError, errorMessage } from "../errors.js";
import type { Engine } from "../runtime/engine.js";
import { LABEL } from "../runtime/labels.js";
import { currentOwner } from "../runtime/owner.js";
import { CACHE_KIND, cacheVolumeLabels, ownerInitContainer, type CacheVolume } from "./cache-volumes.js";
import type { Ids } from "./ownership.js";

/** The label value of the one-shot init containers (`dev.ocbox.kind`). */
export const CACHE_INIT_KIND = "cache-init";

/** Ensures in flight in this process, by `volume@uid:gid`: concurrent tasks of a project init once. */
const inFlight = new Map<string, Promise<void>>();

export interface CacheVolumeInput {
  image: string;
  /** Host dir mounted at /workspace. */
  workspace: string;
  agentUser: Ids;
  volumes: readonly CacheVolume[];
  onLine?: (line: string) => void;
}

/**
 * Create the mount points on the host (as the host user, so no root-owned empty dir is left by
 * the engine), then make sure each volume exists and is the agent's.
 */
export async function prepareCacheVolumes(engine: Engine, input: CacheVolumeInput): Promise<void> {
  for (const v of input.volumes) await mountPoint(input.workspace, v);
  if (input.volumes.length === 0) return;
  const projects = [...new Set(input.volumes.map((v) => v.project))];
  const existing = new Map<string, Record<string, string>>();
  for (const project of projects) {
    const found = await engine.listVolumes([
      `${LABEL.managed}=true`,
      `${LABEL.kind}=${CACHE_KIND}`,
      `${LABEL.sandbox}=${project}`,
    ]);
    for (const v of found) existing.set(v.name, v.labels);
  }
  const want = `${input.agentUser.uid}:${input.agentUser.gid}`;
  for (const v of input.volumes) {
    const key = `${v.name}@${want}`;
    // Another task of this process is on it, or was: it created and initialised the volume.
    const prior = inFlight.get(key);
    if (
      prior &&
      (await prior.then(
        () => true,
        () => false,
      ))
    )
      continue;
    const p = ensureOne(engine, input, v, existing.get(v.name)).finally(() => inFlight.delete(key));
    inFlight.set(key, p);
    await p;
  }
}

async function mountPoint(workspace: string, v: CacheVolume): Promise<void> {
  const dir = join(workspace, v.path);
  const st = await lstat(dir).catch(() => undefined);
  if (st && !st.isDirectory()) {
    throw new OcboxError(
      "CONFIG",
      `volumes: ${v.path} is a ${st.isSymbolicLink() ? "symlink" : "file"} in the workspace, not a dir`,
      { fix: `Remove or rename ${dir}, or drop ${v.path} from volumes: in ocbox.yaml.` },
    );
  }
  if (!st) await mkdir(dir, { recursive: true });
}

async function ensureOne(
  engine: Engine,
  input: CacheVolumeInput,
  v: CacheVolume,
  labels: Record<string, string> | undefined,
): Promise<void> {
  const want = `${input.agentUser.uid}:${input.agentUser.gid}`;
  if (labels?.[LABEL.cacheOwner] === want) return;
  if (labels) {
    // Labels cannot change: a volume made for another uid is re-owned at every start.
    input.onLine?.(
      `cache volume ${v.name} was made for ${labels[LABEL.cacheOwner] ?? "another user"}; giving its files to ${want} ` +
        "(run `ocbox clean --volumes` to start it afresh)",
    );
    await initOwner(engine, input, v, true);
    return;
  }
  await engine.createVolume(v.name, cacheVolumeLabels(v, input.workspace, input.agentUser), {});
  try {
    await initOwner(engine, input, v, false);
  } catch (e) {
    await engine.removeVolume(v.name).catch(() => undefined);
    throw e;
  }
  input.onLine?.(`cache volume ${v.name} created for ${v.path}, owner ${want}`);
}

async function initOwner(engine: Engine, input: CacheVolumeInput, v: CacheVolume, recursive: boolean) {
  const owner = currentOwner();
  const labels = {
    [LABEL.managed]: "true",
    [LABEL.kind]: CACHE_INIT_KIND,
    [LABEL.sandbox]: v.project,
    [LABEL.run]: randomBytes(4).toString("hex"),
    [LABEL.ownerHost]: owner.host,
    [LABEL.ownerPid]: String(owner.pid),
    [LABEL.ownerStart]: owner.start,
    [LABEL.lifetime]: "session",
  };
  const name = `ocbox-${v.project}-cacheinit-${randomBytes(3).toString("hex")}`;
  const id = await engine.createContainer(
    ownerInitContainer(input.image, v, input.agentUser, labels, name, recursive),
  );
  try {
    const lines: string[] = [];
    await engine.startContainer(id);
    await engine.followLogs(
      id,
      (line) => lines.push(line),
      AbortSignal.timeout(recursive ? 600_000 : 60_000),
    );
    const state = await engine.containerState(id);
    if (state?.running || state?.exitCode !== 0) {
      throw new OcboxError(
        "SANDBOX_START",
        `could not give the cache volume ${v.name} to ${input.agentUser.uid}:${input.agentUser.gid}`,
        {
          detail: [`exit code ${state?.exitCode ?? "?"}`, ...lines.slice(-10)].join("\n"),
          fix: "Run `ocbox clean --volumes` and start again.",
        },
      );
    }
  } finally {
    await engine.removeContainer(id).catch(() => undefined);
  }
}

export interface CacheCleanReport {
  removed: string[];
  errors: string[];
}

/** `ocbox clean --volumes`: remove every cache volume (of one project when given) that no container uses. */
export async function removeCacheVolumes(engine: Engine, project?: string): Promise<CacheCleanReport> {
  const report: CacheCleanReport = { removed: [], errors: [] };
  const found = await engine.listVolumes([
    `${LABEL.managed}=true`,
    `${LABEL.kind}=${CACHE_KIND}`,
    ...(project ? [`${LABEL.sandbox}=${project}`] : []),
  ]);
  for (const v of found) {
    try {
      await engine.removeVolume(v.name);
      report.removed.push(v.name);
    } catch (e) {
      report.errors.push(`volume ${v.name}: ${errorMessage(e)}`);
    }
  }
  return report;
}
