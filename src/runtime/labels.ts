import { z } from "zod";
import { OcboxError } from "../errors.js";
import { zodIssues } from "../util/versioned-file.js";

/**
 * Every resource ocbox creates carries these labels, so that it can be found, attributed to the
 * process that made it, and reaped when that process is gone.
 */
export const LABEL = {
  managed: "dev.ocbox.managed",
  sandbox: "dev.ocbox.sandbox",
  run: "dev.ocbox.run",
  role: "dev.ocbox.role",
  ownerHost: "dev.ocbox.owner.host",
  ownerPid: "dev.ocbox.owner.pid",
  /** The owner's process start time (Linux clock ticks since boot), so a reused pid is not mistaken for it. */
  ownerStart: "dev.ocbox.owner.start",
  /**
   * The owner's pid namespace (`/proc/self/ns/pid`). An ocbox in a container with the host's name
   * (host network) but its own pids must never take another namespace's owners for dead.
   */
  ownerPidns: "dev.ocbox.owner.pidns",
  startedAt: "dev.ocbox.started-at",
  /** "session": lives while its owner lives. "detached": lives until `ocbox down`/`clean`. */
  lifetime: "dev.ocbox.lifetime",
  workspace: "dev.ocbox.workspace",
  /** Where the workspace is mounted inside the agent container (absent: /workspace). */
  workspaceTarget: "dev.ocbox.workspace.target",
  /** Host directory of staged credentials, on sandboxes of an ocbox before engine volumes (read only). */
  runDir: "dev.ocbox.run-dir",
  /** Host directory of the egress sidecar, on sandboxes of an ocbox before engine volumes (read only). */
  egressDir: "dev.ocbox.egress-dir",
  /** The engine volume holding the egress sidecar's files (proxy config, access log); on the egress container. */
  egressVolume: "dev.ocbox.egress-volume",
  /** The egress dir's control record (egress/control.ts), in a dir of ocbox's that no container mounts. */
  egressControl: "dev.ocbox.egress-control",
  port: "dev.ocbox.port",
  /** "AGENT_UID:GID>HOST_UID:GID" while the workspace is lent to the agent user (host root). */
  loan: "dev.ocbox.loan",
  imageInputs: "dev.ocbox.image.inputs",
  /** "cache": a performance volume (E11). The reaper never removes these; `ocbox clean --volumes` does. */
  kind: "dev.ocbox.kind",
  /** A cache volume's workspace-relative dir, and the "uid:gid" its root was given to. */
  cachePath: "dev.ocbox.cache.path",
  cacheOwner: "dev.ocbox.cache.owner",
  /** A task image: the task set folder (absolute) and the task it was built for (`ocbox eval prune`). */
  taskSet: "dev.ocbox.task-set",
  task: "dev.ocbox.task",
  /** The OpenCode version a payload volume holds. */
  opencode: "dev.ocbox.opencode",
  /** The label format (LABELS_VERSION); absent on resources of an ocbox before versions: 1. */
  version: "dev.ocbox.labels.version",
} as const;

export const LABELS_VERSION = 1;

/**
 * "apt" and "apt-prefix": the apt helper and its package volume (C9, only with `apt.allow`).
 * "relay": the host relay and its volume (only with host ports or a gateway only the host reaches).
 */
export type ResourceRole =
  | "agent"
  | "egress"
  | "relay"
  | "sockets"
  | "apt"
  | "apt-prefix"
  /** The agent's staged credentials and configs (a volume per container, D2). */
  | "run-files"
  /** The egress sidecar's files: proxy config and access log (a volume per container). */
  | "egress-files"
  /** Copy mode's workspace: a volume per container, filled through the archive API (issue 14). */
  | "workspace-copy"
  /** `ocbox sync`'s snapshot of that workspace and the one-shot container that makes it. */
  | "workspace-sync"
  /** The one-shot container that checks whether the engine sees a host path. */
  | "path-probe";

export interface Owner {
  host: string;
  pid: number;
  /** Process start time; empty when it cannot be read (non-Linux). */
  start: string;
  /** The pid namespace the pid belongs to (`pid:[N]`); absent off Linux and on older resources. */
  pidns?: string;
}

export interface LabelInput {
  sandboxId: string;
  runId: string;
  role: ResourceRole;
  owner: Owner;
  lifetime: "session" | "detached";
  startedAt: Date;
  workspace?: string;
  egressVolume?: string;
  egressControl?: string;
  port?: number;
  loan?: string;
}

export function resourceLabels(input: LabelInput): Record<string, string> {
  return {
    [LABEL.managed]: "true",
    [LABEL.version]: String(LABELS_VERSION),
    [LABEL.sandbox]: input.sandboxId,
    [LABEL.run]: input.runId,
    [LABEL.role]: input.role,
    [LABEL.ownerHost]: input.owner.host,
    [LABEL.ownerPid]: String(input.owner.pid),
    [LABEL.ownerStart]: input.owner.start,
    ...(input.owner.pidns ? { [LABEL.ownerPidns]: input.owner.pidns } : {}),
    [LABEL.startedAt]: input.startedAt.toISOString(),
    [LABEL.lifetime]: input.lifetime,
    ...(input.workspace === undefined ? {} : { [LABEL.workspace]: input.workspace }),
    ...(input.egressVolume === undefined ? {} : { [LABEL.egressVolume]: input.egressVolume }),
    ...(input.egressControl === undefined ? {} : { [LABEL.egressControl]: input.egressControl }),
    ...(input.port === undefined ? {} : { [LABEL.port]: String(input.port) }),
    ...(input.loan === undefined ? {} : { [LABEL.loan]: input.loan }),
  };
}

/** The label format of a resource: absent (an ocbox before versions) is 1; unreadable is NaN. */
export function labelsVersion(labels: Record<string, string>): number {
  const v = labels[LABEL.version];
  return v === undefined ? 1 : /^[1-9]\d*$/.test(v) ? Number(v) : Number.NaN;
}

const decimal = z
  .string()
  .regex(/^[1-9]\d*$/)
  .transform(Number);
const ownerSchema = z.object({
  [LABEL.ownerHost]: z.string().min(1),
  [LABEL.ownerPid]: decimal,
  [LABEL.ownerStart]: z.string().default(""),
  [LABEL.ownerPidns]: z.string().optional(),
});

/** The owner recorded on a resource, if its labels carry a well-formed one (checked with zod). */
export function ownerOf(labels: Record<string, string> | undefined): Owner | undefined {
  if (!labels) return undefined;
  const parsed = ownerSchema.safeParse(labels);
  if (!parsed.success) return undefined;
  const o = parsed.data;
  const pidns = o[LABEL.ownerPidns];
  return {
    host: o[LABEL.ownerHost],
    pid: o[LABEL.ownerPid],
    start: o[LABEL.ownerStart],
    ...(pidns ? { pidns } : {}),
  };
}

const agentLabelsSchema = z.object({
  [LABEL.sandbox]: z.string().min(1),
  [LABEL.run]: z.string().min(1),
  [LABEL.workspace]: z.string().default(""),
  [LABEL.workspaceTarget]: z
    .string()
    .regex(/^\/[a-z0-9][a-z0-9-]{0,39}$/)
    .default("/workspace"),
  [LABEL.port]: z
    .string()
    .regex(/^\d{1,5}$/)
    .transform(Number)
    .pipe(z.number().max(65535))
    .default(0),
  [LABEL.lifetime]: z.enum(["session", "detached"]).default("session"),
  [LABEL.startedAt]: z.string().min(1).optional(),
  [LABEL.ownerPid]: decimal.optional(),
});

export interface AgentLabels {
  sandboxId: string;
  runId: string;
  workspace: string;
  /** The workspace's path inside the agent container. */
  workspaceTarget: string;
  port: number;
  lifetime: "session" | "detached";
  startedAt: string | undefined;
  ownerPid: number;
}

/**
 * What ocbox reads back from an agent container's labels, checked with zod. Labels of a newer
 * label format, or that do not parse, are an error naming the container and the fix. Pure.
 */
export function agentLabels(name: string, labels: Record<string, string>): AgentLabels {
  const version = labelsVersion(labels);
  const fix = `Remove it with \`docker rm -f ${name}\`, or use the ocbox that made it.`;
  if (!(version <= LABELS_VERSION))
    throw new OcboxError(
      "ENGINE",
      `container ${name} carries ocbox labels of version ${labels[LABEL.version]}`,
      {
        detail: `this ocbox reads version ${LABELS_VERSION}`,
        fix,
      },
    );
  const parsed = agentLabelsSchema.safeParse(labels);
  if (!parsed.success)
    throw new OcboxError("ENGINE", `container ${name} carries ocbox labels this ocbox cannot read`, {
      detail: zodIssues(parsed.error),
      fix,
    });
  const l = parsed.data;
  return {
    sandboxId: l[LABEL.sandbox],
    runId: l[LABEL.run],
    workspace: l[LABEL.workspace],
    workspaceTarget: l[LABEL.workspaceTarget],
    port: l[LABEL.port],
    lifetime: l[LABEL.lifetime],
    startedAt: l[LABEL.startedAt],
    ownerPid: l[LABEL.ownerPid] ?? 0,
  };
}

export type Liveness = "alive" | "dead" | "unknown";

/**
 * Decide whether a resource should be reaped. Pure: the caller says which owners are alive.
 * Resources of another host are never judged here (a shared remote engine); detached ones live
 * until they are stopped on purpose.
 */
export function shouldReap(
  labels: Record<string, string> | undefined,
  thisHost: string,
  liveness: (owner: Owner) => Liveness,
): boolean {
  if (labels?.[LABEL.managed] !== "true") return false;
  if (labels[LABEL.lifetime] === "detached") return false;
  // A newer ocbox's resource (or unreadable labels): that ocbox judges it, not this one.
  if (!(labelsVersion(labels) <= LABELS_VERSION)) return false;
  const owner = ownerOf(labels);
  if (!owner) return false;
  if (owner.host !== thisHost) return false;
  return liveness(owner) === "dead";
}
