/**
 * The part of a sandbox the planner decides the same way for every entry point: what makes two
 * sandboxes interchangeable (the warm pool's unit of reuse), and the SandboxSpec it gives once a
 * placement (which workspace, which id, which users) is known. Pure.
 */
import type { CopyBackCaps } from "../sandbox/copy-back-policy.js";
import type { Ids } from "../sandbox/ownership.js";
import { DEFAULT_LIMITS, type SandboxSpec } from "../sandbox/spec.js";

export interface SandboxProfile {
  images: { sandbox: string; egress: string };
  opencodeConfig: Record<string, unknown>;
  forwardPorts: number[];
  env: Record<string, string>;
  limits: SandboxSpec["limits"];
  readyTimeoutMs: number;
  /** The project's egress keys (allowlist, restricted mode, model gateways); absent: nothing out. */
  egress?: SandboxSpec["egress"];
  /** The server's log level and log printing; absent: INFO, printed. */
  server?: SandboxSpec["server"];
  /** The agent container's hardening (ocbox.yaml `hardening`); absent: the hardened default. */
  hardening?: SandboxSpec["hardening"];
  /** C8, opt-in and unsafe: the host's Docker socket in the agent container. */
  hostDockerSocket?: boolean;
  /**
   * E11: workspace dirs shadowed by named volumes, and the project whose root shares `ocbox up`'s
   * volumes. Only cold sandboxes mount them (see acquireSandbox).
   */
  cacheVolumes?: { paths: string[]; project?: { root: string; sandboxId: string } };
  /** C9: packages `ocbox-apt install` may add (ocbox.yaml `apt.allow`); absent or empty: off. */
  aptAllow?: string[];
  /** Caps on what a copy of the agent's work back to the host writes (`limits.copyBack`); absent: the defaults. */
  copyBack?: CopyBackCaps;
  /** Copy mode (issue 14): the workspace copied in and synced back; absent: bind-mounted. */
  workspaceCopy?: SandboxSpec["workspaceCopy"];
  /** The startup summary's line on how the workspace gets in (bind or copy, and why). */
  workspaceMode?: string;
  /** Issue 15: a benchmark task's own image as the agent's container (plan/task-image-plan.ts). */
  taskImage?: SandboxSpec["taskImage"];
  /** A task's providers in OpenCode's models file (plan/model-providers.ts); absent: the whole snapshot. */
  modelProviders?: string[];
}

/** Where one sandbox of a profile goes: its workspace, ids and users (chosen by the caller). */
export interface Placement {
  workspace: string;
  sandboxId: string;
  runId: string;
  hostUser: Ids;
  agentUser: Ids;
}

const idsOf = (user: string): Ids => {
  const [uid, gid] = user.split(":").map(Number);
  return { uid: uid ?? 0, gid: gid ?? uid ?? 0 };
};

export const DEFAULT_SERVER: SandboxSpec["server"] = { logLevel: "INFO", printLogs: true };

/** A task sandbox's spec (run, eval, judge, bridge, service, the structurer, the warm pool). */
export function sandboxSpec(profile: SandboxProfile, placement: Placement): SandboxSpec {
  return {
    sandboxId: placement.sandboxId,
    runId: placement.runId,
    workspace: placement.workspace,
    images: profile.images,
    // A non-root task runs as its own uid (and the sidecar with it, to share the socket dir).
    agentUser:
      profile.taskImage && !profile.taskImage.root ? idsOf(profile.taskImage.user) : placement.agentUser,
    hostUser: placement.hostUser,
    forwardPorts: profile.forwardPorts,
    hostPort: 0,
    env: profile.env,
    opencodeConfig: profile.opencodeConfig,
    limits: profile.limits ?? DEFAULT_LIMITS,
    server: profile.server ?? DEFAULT_SERVER,
    lifetime: "session",
    readyTimeoutMs: profile.readyTimeoutMs,
    ...(profile.egress ? { egress: profile.egress } : {}),
    ...(profile.hardening ? { hardening: profile.hardening } : {}),
    ...(profile.hostDockerSocket ? { hostDockerSocket: true } : {}),
    ...(profile.aptAllow?.length ? { aptAllow: profile.aptAllow } : {}),
    ...(profile.workspaceCopy ? { workspaceCopy: profile.workspaceCopy } : {}),
    ...(profile.taskImage ? { taskImage: profile.taskImage } : {}),
    ...(profile.modelProviders ? { modelProviders: profile.modelProviders } : {}),
  };
}
