/**
 * Performance volumes (FEATURES E11) as data: named volumes that shadow heavy workspace dirs
 * (`node_modules`, `target`, `.venv`) inside the sandbox, so installs and builds there skip the
 * bind mount and persist between runs of one project. Names come from the project's identity and
 * the dir, so every run of the project (`ocbox up`, `ocbox run`) finds the same volume. They carry
 * `dev.ocbox.kind=cache` and no owner process: the reaper never takes them, `ocbox clean
 * --volumes` does. Pure.
 */
import { createHash } from "node:crypto";
import { basename } from "node:path";
import { normalizeVolumePath } from "../config/volume-paths.js";
import { sandboxIdFor, sandboxNameFromFolder } from "../config/sandbox-id.js";
import { WORKSPACE } from "../image/dockerfile.js";
import type { ContainerSpec, Mount } from "../runtime/engine.js";
import { LABEL } from "../runtime/labels.js";
import type { Ids } from "./ownership.js";

export const CACHE_KIND = "cache";

export interface CacheVolume {
  /** The engine's volume name. */
  name: string;
  /** The dir it shadows, relative to the workspace, normalised (`node_modules`, `pkg/a/target`). */
  path: string;
  /** The project identity the name was derived from (a sandbox id). */
  project: string;
}

/**
 * The identity of the dir mounted at /workspace: the project's sandbox id when it is the project
 * root (so `ocbox up` and `ocbox run` share volumes), else one derived the same way from the dir.
 */
export function cacheIdentity(workspace: string, project?: { root: string; sandboxId: string }): string {
  if (project && project.root === workspace) return project.sandboxId;
  return sandboxIdFor(sandboxNameFromFolder(basename(workspace)), workspace);
}

/**
 * `ocbox-<project id>-cache-<dir>`: readable, stable. A dir whose name had to change to fit
 * (`.venv`, `a/b`) gets a short hash of the real path, so `a/b` and `a-b` never share a volume.
 */
export function cacheVolumeName(project: string, path: string): string {
  const normal = normalizeVolumePath(path);
  const slug = normal
    .replace(/\//g, "-")
    .replace(/[^A-Za-z0-9_.-]+/g, "-")
    .replace(/^[^A-Za-z0-9]+/, "")
    .slice(0, 60);
  const hash = createHash("sha256").update(normal).digest("hex").slice(0, 6);
  return `ocbox-${project}-cache-${slug === normal ? slug : `${slug || "dir"}-${hash}`}`;
}

export function cacheVolumes(project: string, paths: readonly string[]): CacheVolume[] {
  return paths.map((p) => ({ name: cacheVolumeName(project, p), path: normalizeVolumePath(p), project }));
}

/** Labels of a cache volume: managed, kind=cache, its project, dir and the owner its root was given. */
export function cacheVolumeLabels(v: CacheVolume, workspace: string, owner: Ids): Record<string, string> {
  return {
    [LABEL.managed]: "true",
    [LABEL.kind]: CACHE_KIND,
    [LABEL.sandbox]: v.project,
    [LABEL.workspace]: workspace,
    [LABEL.cachePath]: v.path,
    [LABEL.cacheOwner]: `${owner.uid}:${owner.gid}`,
  };
}

export function isCacheVolume(labels: Record<string, string> | undefined): boolean {
  return labels?.[LABEL.kind] === CACHE_KIND;
}

/** The agent container's mounts: each volume over its dir of the workspace (at `root` inside). */
export function cacheMounts(volumes: readonly CacheVolume[], root: string = WORKSPACE): Mount[] {
  return volumes.map((v) => ({ type: "volume", source: v.name, target: `${root}/${v.path}` }));
}

/** Where the one-shot init container sees the volume. */
const INIT_TARGET = "/cache";

/**
 * The one-shot container that gives a fresh volume's root to the agent's uid:gid: the sandbox
 * image, uid 0 with CAP_CHOWN only, no network, read-only root. `recursive` (a volume made for
 * another uid) also re-owns its contents, which needs reading dirs that are not root's.
 */
export function ownerInitContainer(
  image: string,
  volume: CacheVolume,
  owner: Ids,
  labels: Record<string, string>,
  name: string,
  recursive: boolean,
): ContainerSpec {
  return {
    name,
    image,
    labels,
    env: {},
    user: "0:0",
    entrypoint: ["chown", ...(recursive ? ["-R", "-h"] : []), `${owner.uid}:${owner.gid}`, INIT_TARGET],
    networkMode: "none",
    mounts: [{ type: "volume", source: volume.name, target: INIT_TARGET }],
    tmpfs: {},
    readOnlyRoot: true,
    capDrop: ["ALL"],
    capAdd: recursive ? ["CHOWN", "DAC_READ_SEARCH"] : ["CHOWN"],
    securityOpt: ["no-new-privileges:true"],
    limits: { memoryBytes: 64 * 1024 ** 2, pids: 32 },
    stopTimeout: 2,
    logMaxSize: "1m",
    logMaxFiles: 1,
  };
}
