/**
 * What `ocbox eval prune` removes, decided from what the engine and the task sets say. Pure: the
 * caller lists the images, volumes and containers and reads the task sets (prune.ts).
 *
 * - A task image ocbox built (`dev.ocbox.kind=task-image`) goes when no task set in use needs its
 *   tag: the task set on its label and every task set in the record or named by the caller, each
 *   read afresh (a folder that is gone needs nothing). An image whose task set exists but cannot be
 *   read stays (a broken task.toml is no reason to throw away its cache).
 * - An OpenCode payload volume goes when it holds another OpenCode than the pinned one (its
 *   label), or, made by an ocbox before that label, is not this ocbox's sandbox image's payload.
 * - Nothing that a container uses goes: a running one, and a stopped one too (named, so that the
 *   user can remove it first); stopped eval leftovers are removed before this is decided.
 */
import type { ContainerSummary, ImageSummary } from "../runtime/engine.js";
import { LABEL } from "../runtime/labels.js";

/** A task set as prune read it. */
export type TaskSetState =
  | { dir: string; state: "gone" }
  | { dir: string; state: "read"; tags: string[] }
  | { dir: string; state: "unreadable"; error: string };

export interface PruneImage {
  id: string;
  tags: string[];
  taskSet: string | null;
  task: string | null;
}

export interface Kept<T> {
  what: T;
  reason: string;
}

export interface PruneDecision {
  images: { remove: PruneImage[]; keep: Array<Kept<PruneImage>> };
  volumes: { remove: string[]; keep: Array<Kept<string>> };
}

export interface PruneInputs {
  images: readonly ImageSummary[];
  taskSets: readonly TaskSetState[];
  /** Only images labelled with one of these task sets (`--task-set`); all ocbox task images when absent. */
  scope?: ReadonlySet<string> | undefined;
  payloadVolumes: ReadonlyArray<{ name: string; labels: Record<string, string> }>;
  /** The payload volume of this ocbox's sandbox image; undefined when unknown (no base image here). */
  pinnedPayload: string | undefined;
  /** The pinned OpenCode version: a payload labelled with it stays (another sandbox image's). */
  opencodeVersion: string;
  /** Image id or volume name → the containers using it. */
  users: ReadonlyMap<string, readonly ContainerSummary[]>;
}

const describe = (i: ImageSummary): PruneImage => ({
  id: i.id,
  tags: i.tags,
  taskSet: i.labels[LABEL.taskSet] ?? null,
  task: i.labels[LABEL.task] ?? null,
});

/** Why a container's use keeps a resource; undefined when nothing uses it. */
export function useReason(users: readonly ContainerSummary[] | undefined): string | undefined {
  const first = users?.[0];
  if (!first) return undefined;
  const running = users.find((c) => c.state === "running");
  const c = running ?? first;
  return running
    ? `in use by running container ${c.name}`
    : `used by ${c.state} container ${c.name} (remove it first: docker rm ${c.name})`;
}

function imageVerdict(image: PruneImage, inputs: PruneInputs, used: ReadonlySet<string>): string | undefined {
  const inUse = useReason(inputs.users.get(image.id));
  if (inUse) return inUse;
  const tag = image.tags.find((t) => used.has(t));
  if (tag) return `${tag} is used by a task set`;
  const own = inputs.taskSets.find((s) => s.dir === image.taskSet);
  if (own?.state === "unreadable") return `its task set ${own.dir} could not be read: ${own.error}`;
  return undefined;
}

/** Why a payload volume stays although no container uses it; undefined: it goes. */
function payloadKeepReason(
  v: { name: string; labels: Record<string, string> },
  inputs: Pick<PruneInputs, "pinnedPayload" | "opencodeVersion">,
): string | undefined {
  const version = v.labels[LABEL.opencode];
  if (version === inputs.opencodeVersion) return `holds the pinned OpenCode ${version}`;
  if (version !== undefined) return undefined;
  if (v.name === inputs.pinnedPayload) return "the payload of this ocbox's sandbox image";
  if (inputs.pinnedPayload === undefined)
    return "made by an older ocbox (no OpenCode version label) and this ocbox's own payload is unknown here";
  return undefined;
}

export function decidePrune(inputs: PruneInputs): PruneDecision {
  const used = new Set(inputs.taskSets.flatMap((s) => (s.state === "read" ? s.tags : [])));
  const out: PruneDecision = { images: { remove: [], keep: [] }, volumes: { remove: [], keep: [] } };
  for (const raw of inputs.images) {
    const image = describe(raw);
    if (inputs.scope && !(image.taskSet && inputs.scope.has(image.taskSet))) continue;
    const reason = imageVerdict(image, inputs, used);
    if (reason) out.images.keep.push({ what: image, reason });
    else out.images.remove.push(image);
  }
  if (inputs.scope) return out;
  for (const v of inputs.payloadVolumes) {
    const reason = useReason(inputs.users.get(v.name)) ?? payloadKeepReason(v, inputs);
    if (reason) out.volumes.keep.push({ what: v.name, reason });
    else out.volumes.remove.push(v.name);
  }
  return out;
}

/** Task set folders to read: the record's, the images' labels and the caller's, once each, sorted. */
export function taskSetsToRead(
  recorded: readonly string[],
  images: readonly ImageSummary[],
  named: readonly string[],
): string[] {
  const labelled = images.map((i) => i.labels[LABEL.taskSet]).filter((d): d is string => Boolean(d));
  return [...new Set([...recorded, ...labelled, ...named])].sort();
}
