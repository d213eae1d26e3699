/**
 * `ocbox eval prune`: remove what evaluations leave on the engine and no longer need: stopped eval
 * leftovers (containers of ocbox processes that are gone, payload fillers that never finished),
 * task images that no task set in use refers to, and payload volumes of other OpenCode versions.
 * The decision is prune-plan.ts (pure); this reads the engine and the task sets and applies it.
 * `dryRun` lists and removes nothing. With `taskSets` (`--task-set`), only the task images built
 * for those task sets are judged, and nothing else is touched.
 */
import { stat } from "node:fs/promises";
import { hostname } from "node:os";
import { resolve } from "node:path";
import { OcboxError, errorMessage } from "../errors.js";
import { baseCandidates } from "../image/base.js";
import { imageStatus } from "../image/build.js";
import { OPENCODE_VERSION } from "../image/opencode-binary.js";
import { PAYLOAD_KIND, payloadVolumeName } from "../image/payload.js";
import { readTaskContext } from "../image/task-context.js";
import { TASK_IMAGE_KIND, taskImageTag } from "../image/task-image.js";
import type { ContainerSummary, Engine } from "../runtime/engine.js";
import { LABEL } from "../runtime/labels.js";
import { ownerLiveness } from "../runtime/owner.js";
import { containersToReap, reap } from "../sandbox/reaper.js";
import { decidePrune, taskSetsToRead, type PruneImage, type TaskSetState } from "./prune-plan.js";
import { readTaskSets } from "./task-set-record.js";
import { loadTaskSet } from "./task-set.js";

export interface PruneOptions {
  /** List what would go; remove nothing. */
  dryRun?: boolean;
  /** More task sets to count as in use (`--tasks`), besides the recorded ones and the images' labels. */
  inUse?: readonly string[];
  /** Judge only the task images built for these task sets (`--task-set`); nothing else is touched. */
  taskSets?: readonly string[];
  env?: NodeJS.ProcessEnv;
}

export interface PruneReport {
  dryRun: boolean;
  images: { removed: PruneImage[]; kept: Array<{ image: PruneImage; reason: string }> };
  volumes: { removed: string[]; kept: Array<{ volume: string; reason: string }> };
  /** Stopped eval leftovers (names). */
  containers: string[];
  taskSets: TaskSetState[];
  errors: string[];
}

/** A payload filler that is not running and older than this is a leftover (a fill takes seconds). */
const FILLER_AGE_MS = 10 * 60_000;

async function exists(dir: string): Promise<boolean> {
  return stat(dir).then(
    (s) => s.isDirectory(),
    (e: unknown) => {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return false;
      throw e;
    },
  );
}

/** The task image tags a task set needs now (its Dockerfile contexts hashed afresh). */
export async function readTaskSetState(dir: string): Promise<TaskSetState> {
  if (!(await exists(dir))) return { dir, state: "gone" };
  try {
    const set = await loadTaskSet(dir);
    const tags: string[] = [];
    for (const t of set.tasks) {
      const env = t.harbor?.environment;
      if (env?.kind === "image") tags.push(env.image);
      if (env?.kind === "dockerfile") tags.push(taskImageTag((await readTaskContext(env.context)).digest));
    }
    return { dir, state: "read", tags };
  } catch (e) {
    if (!(e instanceof OcboxError)) throw e;
    return { dir, state: "unreadable", error: e.message };
  }
}

/** Stopped eval leftovers: what the reaper takes (owner gone), and payload fillers that never finished. */
async function leftovers(engine: Engine): Promise<ContainerSummary[]> {
  const managed = await engine.listContainers([`${LABEL.managed}=true`], true);
  const reaped = containersToReap(managed, hostname(), ownerLiveness, false);
  const fillers = managed.filter(
    (c) =>
      c.labels[LABEL.kind] === "payload-fill" &&
      c.state !== "running" &&
      Date.now() - c.createdAt.getTime() > FILLER_AGE_MS,
  );
  return [...reaped, ...fillers];
}

async function removeLeftovers(engine: Engine, list: readonly ContainerSummary[], errors: string[]) {
  const report = await reap(engine);
  errors.push(...report.errors);
  const removed = new Set(report.containers);
  for (const c of list.filter((l) => l.labels[LABEL.kind] === "payload-fill")) {
    await engine.removeContainer(c.id).then(
      () => removed.add(c.name),
      (e: unknown) => errors.push(`${c.name}: ${errorMessage(e)}`),
    );
  }
  return [...removed];
}

/** This ocbox's payload volume name, from its sandbox image's tag (nothing is built or pulled). */
async function pinnedPayload(engine: Engine, errors: string[]): Promise<string | undefined> {
  const bases = await Promise.all(baseCandidates(undefined).map((ref) => engine.imageId(ref)));
  if (!bases.some(Boolean)) return undefined;
  try {
    const sandbox = (await imageStatus(engine)).find((i) => i.kind === "sandbox");
    return sandbox ? payloadVolumeName(sandbox.tag) : undefined;
  } catch (e) {
    if (!(e instanceof OcboxError)) throw e;
    errors.push(`payload volumes not judged: ${e.message}`);
    return undefined;
  }
}

/** Each of its tags, then the image if still there; never forced (a container made since the check keeps it). */
async function removeImage(engine: Engine, image: PruneImage): Promise<void> {
  for (const tag of image.tags) await engine.removeImage(tag, { force: false });
  if (await engine.imageId(image.id)) await engine.removeImage(image.id, { force: false });
}

export async function pruneEval(engine: Engine, options: PruneOptions = {}): Promise<PruneReport> {
  const errors: string[] = [];
  const scope = options.taskSets?.length ? new Set(options.taskSets.map((d) => resolve(d))) : undefined;
  const dryRun = options.dryRun === true;
  const stale = scope ? [] : await leftovers(engine);
  const containers = dryRun ? stale.map((c) => c.name) : await removeLeftovers(engine, stale, errors);

  const images = await engine.listImages([`${LABEL.kind}=${TASK_IMAGE_KIND}`]);
  const named = [...(options.inUse ?? []), ...(scope ?? [])].map((d) => resolve(d));
  const dirs = taskSetsToRead(await readTaskSets(options.env), images, named);
  const taskSets = await Promise.all(dirs.map(readTaskSetState));
  const volumes = scope ? [] : await engine.listVolumes([`${LABEL.kind}=${PAYLOAD_KIND}`]);
  const users = new Map<string, ContainerSummary[]>();
  for (const i of images) users.set(i.id, await engine.containersUsing({ image: i.id }));
  for (const v of volumes) users.set(v.name, await engine.containersUsing({ volume: v.name }));
  const decision = decidePrune({
    images,
    taskSets,
    scope,
    payloadVolumes: volumes,
    pinnedPayload: scope ? undefined : await pinnedPayload(engine, errors),
    opencodeVersion: OPENCODE_VERSION,
    users,
  });

  const removedImages: PruneImage[] = [];
  const removedVolumes: string[] = [];
  if (!dryRun) {
    for (const i of decision.images.remove)
      await removeImage(engine, i).then(
        () => removedImages.push(i),
        (e: unknown) => errors.push(`image ${i.tags[0] ?? i.id}: ${errorMessage(e)}`),
      );
    for (const v of decision.volumes.remove)
      await engine.removeVolume(v).then(
        () => removedVolumes.push(v),
        (e: unknown) => errors.push(`volume ${v}: ${errorMessage(e)}`),
      );
  }
  return {
    dryRun,
    images: {
      removed: dryRun ? decision.images.remove : removedImages,
      kept: decision.images.keep.map((k) => ({ image: k.what, reason: k.reason })),
    },
    volumes: {
      removed: dryRun ? decision.volumes.remove : removedVolumes,
      kept: decision.volumes.keep.map((k) => ({ volume: k.what, reason: k.reason })),
    },
    containers,
    taskSets,
    errors,
  };
}
