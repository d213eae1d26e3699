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
  startedAt: "dev.ocbox.started-at",
  /** "session": lives while its owner lives. "detached": lives until `ocbox down`/`clean`. */
  lifetime: "dev.ocbox.lifetime",
  workspace: "dev.ocbox.workspace",
  /** Host directory holding the run's staged credentials, removed with the sandbox. */
  runDir: "dev.ocbox.run-dir",
  /** Host directory staged for the egress sidecar (proxy config, access log); on the egress container. */
  egressDir: "dev.ocbox.egress-dir",
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
} as const;

/** "apt" and "apt-prefix": the apt helper and its package volume (C9, only with `apt.allow`). */
export type ResourceRole = "agent" | "egress" | "sockets" | "apt" | "apt-prefix";

export interface Owner {
  host: string;
  pid: number;
  /** Process start time; empty when it cannot be read (non-Linux). */
  start: string;
}

export interface LabelInput {
  sandboxId: string;
  runId: string;
  role: ResourceRole;
  owner: Owner;
  lifetime: "session" | "detached";
  startedAt: Date;
  workspace?: string;
  runDir?: string;
  egressDir?: string;
  egressControl?: string;
  port?: number;
  loan?: string;
}

export function resourceLabels(input: LabelInput): Record<string, string> {
  return {
    [LABEL.managed]: "true",
    [LABEL.sandbox]: input.sandboxId,
    [LABEL.run]: input.runId,
    [LABEL.role]: input.role,
    [LABEL.ownerHost]: input.owner.host,
    [LABEL.ownerPid]: String(input.owner.pid),
    [LABEL.ownerStart]: input.owner.start,
    [LABEL.startedAt]: input.startedAt.toISOString(),
    [LABEL.lifetime]: input.lifetime,
    ...(input.workspace === undefined ? {} : { [LABEL.workspace]: input.workspace }),
    ...(input.runDir === undefined ? {} : { [LABEL.runDir]: input.runDir }),
    ...(input.egressDir === undefined ? {} : { [LABEL.egressDir]: input.egressDir }),
    ...(input.egressControl === undefined ? {} : { [LABEL.egressControl]: input.egressControl }),
    ...(input.port === undefined ? {} : { [LABEL.port]: String(input.port) }),
    ...(input.loan === undefined ? {} : { [LABEL.loan]: input.loan }),
  };
}

/** The owner recorded on a resource, if its labels carry one. */
export function ownerOf(labels: Record<string, string> | undefined): Owner | undefined {
  if (!labels) return undefined;
  const host = labels[LABEL.ownerHost];
  const pid = Number(labels[LABEL.ownerPid]);
  if (!host || !Number.isInteger(pid) || pid <= 0) return undefined;
  return { host, pid, start: labels[LABEL.ownerStart] ?? "" };
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
  const owner = ownerOf(labels);
  if (!owner) return false;
  if (owner.host !== thisHost) return false;
  return liveness(owner) === "dead";
}
