import type { EgressSpec } from "../egress/spec.js";
import type { Mount } from "../runtime/engine.js";
import type { Hardening } from "./hardening.js";
import type { CacheVolume } from "./cache-volumes.js";
import type { Ids } from "./ownership.js";
import type { TransportSetting } from "./server-transport.js";

export type LogLevel = "DEBUG" | "INFO" | "WARN" | "ERROR";

/** Everything needed to start one sandbox. Plain data, produced by the planner (plan/). */
export interface SandboxSpec {
  /** Stable id: a name plus a short hash (project sandboxes) or a run-specific id. */
  sandboxId: string;
  runId: string;
  /** Absolute host path, mounted read-write at `workspaceTarget` (or copied in: `workspaceCopy`). */
  workspace: string;
  /**
   * Copy mode (issue 14 item 2): the workspace is copied into a volume of this container through
   * the archive API instead of bind-mounted, leaving out `exclude` (.gitignore-style); the agent's
   * work comes back by a sync (workspace-copy-sync.ts). Absent: bind mount. `keep` (`ocbox up`):
   * the volume outlives its containers until a sync brought it back (`ocbox sync`, `down`): the
   * reaper never takes it.
   */
  workspaceCopy?: { exclude: string[]; keep?: boolean };
  /** Where the workspace is mounted inside (and the agent's cwd); absent: /workspace. `up`: /<name>. */
  workspaceTarget?: string;
  /** The same workspace (and its cache volumes) mounted here too: `up`'s old /workspace. */
  workspaceAlias?: string;
  images: { sandbox: string; egress: string };
  /** The uid:gid the agent runs as inside the container. Never 0. */
  agentUser: Ids;
  /** The user who ran ocbox on the host. */
  hostUser: Ids;
  /** Host loopback TCP ports reachable inside the sandbox at 127.0.0.1 on the same port. */
  forwardPorts: number[];
  /** Host port for the server on 127.0.0.1; 0 picks a free one. Unused with the "exec" transport. */
  hostPort: number;
  /** How ocbox reaches the server (server-transport.ts); absent: OCBOX_SERVER_TRANSPORT, else auto. */
  serverTransport?: TransportSetting;
  /** Environment of the agent container, already filtered by the env rules. */
  env: Record<string, string>;
  /** OpenCode config (JSON) handed to the server with OPENCODE_CONFIG. */
  opencodeConfig?: Record<string, unknown>;
  /**
   * Engine volume kept as the agent's ~/.local, OpenCode's data (sessions survive restarts, A3)
   * included; created when missing (with `dataSeed` copied in). Absent: ~/.local is in the home
   * tmpfs. No host dir (decision 9).
   */
  dataVolume?: string;
  /** Labels of the data volume (a project's, kept across runs; `clean --state` removes it). */
  dataVolumeLabels?: Record<string, string>;
  /**
   * A host dir (ocbox's own state dir) copied once into a newly made data volume: the ~/.local
   * of an ocbox before data volumes, so its sessions carry over.
   */
  dataSeed?: string;
  /**
   * A host file in ocbox's state dir (no container mounts it) recording the data volume that got
   * the agent's dirs: while it names this volume (its creation time) and this agent user, a start
   * puts nothing in it (one archive call less on the way to ready). Absent: the dirs go in every start.
   */
  dataVolumeRecord?: string;
  /** Server password; a fresh random one when absent (project sandboxes keep theirs in the state dir). */
  password?: string;
  /**
   * Host auth.json to copy (0600) into the run volume; the entrypoint links it where OpenCode reads it.
   * The host file is only read. A missing file stages `{}`. Only the entries of `authProviders`
   * are copied, and never one holding a gateway's key (auth-copy.ts).
   */
  authFile?: string;
  /** The providers whose auth.json entries the sandbox gets (the plan decides); absent: none. */
  authProviders?: string[];
  /** More bind mounts of the agent container (the project's opencode.json read-only over itself). */
  extraMounts?: Mount[];
  /** The egress proxy's allowlist and model gateways; absent: the proxy allows nothing. */
  egress?: EgressSpec;
  /**
   * C8, opt-in and unsafe: mount the host's Docker socket at /var/run/docker.sock in the agent
   * container (with the socket's group). The agent then controls the host's engine.
   */
  hostDockerSocket?: boolean;
  /** E11: named volumes over workspace dirs (node_modules, target), owned by the agent user. */
  cacheVolumes?: CacheVolume[];
  /** The agent container's hardening (ocbox.yaml `hardening`); absent: DEFAULT_HARDENING. */
  hardening?: Hardening;
  /**
   * C9: Debian packages the agent may install at run time (`ocbox-apt install`), by exact name.
   * Non-empty starts the apt helper container; absent or empty: off.
   */
  aptAllow?: string[];
  /**
   * Issue 15: the agent runs in a benchmark task's own image (OpenCode from the payload volume),
   * with no workspace mounted; absent: ocbox's sandbox image with the workspace.
   */
  taskImage?: TaskImageSandbox;
  /**
   * The providers OpenCode loads from its models.dev snapshot (a models file in the run volume,
   * `OPENCODE_MODELS_PATH`); absent: the whole snapshot bundled in the binary.
   */
  modelProviders?: string[];
  limits: { memoryBytes: number; nanoCpus: number; pids: number; nofile: number };
  server: { logLevel: LogLevel; printLogs: boolean };
  lifetime: "session" | "detached";
  readyTimeoutMs: number;
}

/** What a spec carries when its agent runs in a task's own image (the planner fills it). */
export interface TaskImageSandbox {
  /** The task's image (built from environment/Dockerfile, or its docker_image). */
  image: string;
  /** The agent's uid:gid inside ("0:0" for a root task). */
  user: string;
  root: boolean;
  /** A root task's capabilities (ROOT_TASK_CAPS) when no stronger runtime isolates it; [] otherwise. */
  capAdd: string[];
  /** Where the agent works: `[environment].workdir`, else the image's WORKDIR, else /. */
  workdir: string;
  /** The payload volume (read-only at PAYLOAD_DIR). */
  payloadVolume: string;
  /** The image has no /lib64: the payload is mounted there too, for opencode's loader. */
  lib64FromPayload: boolean;
  /** `[environment].env`, passed to the agent (and the verifier). */
  env: Record<string, string>;
}

export const DEFAULT_LIMITS: SandboxSpec["limits"] = {
  memoryBytes: 4 * 1024 ** 3,
  nanoCpus: 2e9,
  pids: 1024,
  nofile: 4096,
};

/** The agent's uid:gid for a host user (A12): the user's own ids, or an unprivileged uid for root. */
export function agentUserFor(hostUser: Ids, unprivilegedUid: number): Ids {
  return hostUser.uid === 0 ? { uid: unprivilegedUid, gid: unprivilegedUid } : hostUser;
}

/**
 * Whose workspace it is: the user who ran ocbox, or, when root runs it on a folder of an ordinary
 * user (`sudo ocbox up`), that user, so the agent works as them and every file it makes is theirs
 * with no loan at all. Pure.
 */
export function workspaceUserFor(processUser: Ids, workspaceOwner: Ids): Ids {
  return processUser.uid === 0 && workspaceOwner.uid !== 0 ? workspaceOwner : processUser;
}

export function currentHostUser(): Ids {
  return { uid: process.getuid?.() ?? 1000, gid: process.getgid?.() ?? 1000 };
}
