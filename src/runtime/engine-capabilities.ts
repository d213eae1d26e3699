/**
 * What an engine does differently from Docker's Engine API, decided once from its /version and
 * /info answers (issue 14 item 4), and the pure translations that turn ocbox's Docker-shaped
 * options into ones the engine applies. Everything above runtime/ keeps speaking Docker; only
 * the driver consults these. Pure.
 */

/** The facts read from the engine's /version and /info. */
export interface EngineFacts {
  flavour: "docker" | "podman";
  /** The engine's own id (Docker's daemon ID, else its host name); "" when it gives none. */
  id?: string;
  /** Podman's service as an ordinary user (SecurityOptions "name=rootless"). */
  rootless: boolean;
  /** Rootless: the user the service runs as (uid 0 of its user namespace). */
  serviceUser?: { uid: number; gid: number };
  /** "1" or "2"; undefined when the engine does not say. */
  cgroupVersion: string | undefined;
  /** "systemd", "cgroupfs", or "none" (rootless Podman on cgroup v1). */
  cgroupDriver: string | undefined;
  /** What the engine's /info says it can limit. */
  memoryLimit: boolean;
  pidsLimit: boolean;
  cpuCfsQuota: boolean;
  /** The OCI runtimes the engine has registered (Docker's /info `Runtimes`); absent: not said. */
  runtimes?: Record<string, RegisteredRuntime>;
}

/** One entry of Docker's /info `Runtimes`: what daemon.json registered under a name. */
export interface RegisteredRuntime {
  path: string;
  runtimeArgs: string[];
}

/** A limit the engine cannot enforce. */
export type UnenforcedLimit = "memory" | "cpu" | "pids";

export interface EngineCapabilities {
  /** Podman's compat import ignores the `tag` query parameter: the tag is written into `repo`. */
  importTagInRepo: boolean;
  /**
   * Podman's local volume driver reads `size=` and `inodes=` in `o` as an XFS project quota and
   * refuses them elsewhere, even for a tmpfs: the tmpfs size is written as `nr_blocks=` (pages).
   */
  tmpfsSizeAsBlocks: boolean;
  /**
   * Podman's container tmpfs mounts refuse `uid=`/`gid=`; its `U` option mounts them owned by the
   * container's user instead (the same result when that is the owner asked for).
   */
  tmpfsOwnerAsU: boolean;
  /** Podman reads `SecurityOpt: seccomp=…` as a path on the engine's host, not as the JSON itself. */
  seccompByPath: boolean;
  /**
   * Podman raises nofile and nproc to 1048576 when a container does not set them, even when its
   * own hard limit is lower (no CAP_SYS_RESOURCE): every container states both.
   */
  explicitUlimits: boolean;
  /**
   * Podman writes no /etc/resolv.conf for a container without a network and ignores `Dns` there
   * (the image's file shows through): the driver puts the asked-for file in before the start
   * (resolv-conf.ts).
   */
  resolvConfByArchive: boolean;
  /**
   * Rootless Podman reads the user's subordinate ids (libsubid) for every keep-id container it
   * creates; with the sandbox's containers created at once, one create failed here with "cannot
   * read subids". The driver creates them one at a time there (a create takes milliseconds).
   */
  serialCreate: boolean;
  /** Rootless: user-namespaced, files written as the container's uid belong to a subordinate uid. */
  rootless: boolean;
  /**
   * The user-namespace mode of every container, when the engine's default is not the host's
   * identity: rootless Podman maps container uid 0 to the user and the rest to subordinate uids,
   * so the agent's files would belong to a uid the user is not; `keep-id` maps the user's own uid
   * to itself (FEATURES A12).
   */
  usernsMode: "keep-id" | undefined;
  /**
   * Rootless: a volume is mounted in the service's own user namespace, where the user is uid 0;
   * a volume owned by the user is written `uid=0,gid=0` there (the user again under keep-id).
   */
  volumeOwner: { uid: number; gid: number } | undefined;
  /** Limits the engine cannot apply (rootless Podman on cgroup v1 without systemd: all of them). */
  unenforced: UnenforcedLimit[];
  /** The engine's registered OCI runtimes by name (hardening.runtime is checked against them). */
  runtimes?: Record<string, RegisteredRuntime>;
}

/** Pure: the capabilities of an engine from its facts. */
export function engineCapabilities(f: EngineFacts): EngineCapabilities {
  const podman = f.flavour === "podman";
  return {
    importTagInRepo: podman,
    tmpfsSizeAsBlocks: podman,
    tmpfsOwnerAsU: podman,
    seccompByPath: podman,
    explicitUlimits: podman,
    resolvConfByArchive: podman,
    serialCreate: podman && f.rootless,
    rootless: f.rootless,
    usernsMode: podman && f.rootless ? "keep-id" : undefined,
    volumeOwner: podman && f.rootless ? f.serviceUser : undefined,
    unenforced: unenforcedLimits(f),
    ...(f.runtimes ? { runtimes: f.runtimes } : {}),
  };
}

function unenforcedLimits(f: EngineFacts): UnenforcedLimit[] {
  // Rootless on cgroup v1 has no cgroup it may write: Podman runs every container in the
  // service's own cgroup and ignores memory, CPU and PID limits (it prints a warning nobody sees).
  if (f.rootless && f.cgroupVersion !== "2") return ["memory", "cpu", "pids"];
  if (f.rootless && f.cgroupDriver !== "systemd") return ["memory", "cpu", "pids"];
  const out: UnenforcedLimit[] = [];
  if (!f.memoryLimit) out.push("memory");
  if (!f.cpuCfsQuota) out.push("cpu");
  if (!f.pidsLimit) out.push("pids");
  return out;
}

const LIMIT_NAMES: Record<UnenforcedLimit, string> = { memory: "memory", cpu: "CPU", pids: "PID" };
const LIMIT_RUNAWAY: Record<UnenforcedLimit, string> = {
  memory: "a runaway agent can use all of the machine's memory",
  cpu: "a busy agent can use every CPU",
  pids: "a fork bomb is not stopped at the PID limit",
};

/**
 * Each limit the engine cannot enforce as the `security.unsafe` key and the WARNING text of the
 * startup summary, naming the engine's reason and the fix.
 */
export function unenforcedWarnings(
  caps: Pick<EngineCapabilities, "unenforced" | "rootless">,
): Array<{ key: string; warning: string }> {
  const why = caps.rootless
    ? "rootless Podman without cgroup v2 and systemd cannot create cgroups"
    : "the engine reports that it cannot apply it";
  const fix = caps.rootless
    ? "use rootful Podman or Docker, or cgroup v2 with a systemd user session"
    : "enable the cgroup controller on the engine's host";
  return caps.unenforced.map((l) => ({
    key: `engine.limits.${l}`,
    warning: `the engine enforces no ${LIMIT_NAMES[l]} limit (${why}): ${LIMIT_RUNAWAY[l]}; ${fix}`,
  }));
}

const PAGE = 4096;

/** Bytes of a tmpfs size such as `1m`, `512k`, `1g` or `4096`; undefined when not one. */
export function tmpfsBytes(size: string): number | undefined {
  const m = /^(\d+)([kmgKMG]?)$/.exec(size.trim());
  if (!m) return undefined;
  const unit = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[(m[2] ?? "").toLowerCase()] ?? 1;
  return Number(m[1]) * unit;
}

/**
 * A volume's driver options as the engine applies them: on Podman a tmpfs's `size=` becomes the
 * same size in pages (`nr_blocks=`, 4 KiB pages), which its driver passes to mount(2) unchanged.
 */
export function volumeOptionsFor(
  caps: Pick<EngineCapabilities, "tmpfsSizeAsBlocks" | "volumeOwner">,
  driverOpts: Record<string, string>,
): Record<string, string> {
  const o = driverOpts.o;
  if (!caps.tmpfsSizeAsBlocks || driverOpts.type !== "tmpfs" || o === undefined) return { ...driverOpts };
  const owner = caps.volumeOwner;
  const parts = o.split(",").map((part) => {
    const [key, value] = part.split("=", 2);
    if (value === undefined) return part;
    if (owner && key === "uid" && Number(value) === owner.uid) return "uid=0";
    if (owner && key === "gid" && Number(value) === owner.gid) return "gid=0";
    if (key !== "size") return part;
    const bytes = tmpfsBytes(value);
    if (bytes === undefined) return part;
    return `nr_blocks=${Math.ceil(bytes / PAGE)}`;
  });
  return { ...driverOpts, o: parts.join(",") };
}

export interface Ulimit {
  Name: string;
  Soft: number;
  Hard: number;
}

/** nofile of a container that does not set one, on an engine that needs it stated. */
export const DEFAULT_NOFILE = 4096;
/**
 * nproc on an engine that needs it stated: RLIMIT_NPROC counts every process of the uid (on the
 * host, without a user namespace), so this is a high ceiling, not a per-container bound; the
 * per-container bound is the PID limit.
 */
export const DEFAULT_NPROC = 32768;

/**
 * The container's ulimits: no core dumps, its nofile, its nproc when given (the agent under
 * gVisor), and on Podman nofile and nproc stated.
 */
export function ulimitsFor(
  caps: Pick<EngineCapabilities, "explicitUlimits">,
  nofile?: number,
  nproc?: number,
): Ulimit[] {
  const out: Ulimit[] = [{ Name: "core", Soft: 0, Hard: 0 }];
  const files = nofile ?? (caps.explicitUlimits ? DEFAULT_NOFILE : undefined);
  if (files !== undefined) out.push({ Name: "nofile", Soft: files, Hard: files });
  const procs = nproc ?? (caps.explicitUlimits ? DEFAULT_NPROC : undefined);
  if (procs !== undefined) out.push({ Name: "nproc", Soft: procs, Hard: procs });
  return out;
}

/** The JSON of a `seccomp=<json>` option, undefined for any other option (a path, unconfined). */
export function inlineSeccomp(opt: string): string | undefined {
  if (!opt.startsWith("seccomp=")) return undefined;
  const value = opt.slice("seccomp=".length);
  return value.trimStart().startsWith("{") ? value : undefined;
}

/**
 * Security options as the engine reads them: on an engine that takes the seccomp profile as a
 * path, an inline profile becomes `seccomp=<path>` of a file `writeProfile` made from its JSON.
 */
export function securityOptFor(
  caps: Pick<EngineCapabilities, "seccompByPath">,
  securityOpt: string[],
  writeProfile: (json: string) => string,
): string[] {
  if (!caps.seccompByPath) return [...securityOpt];
  return securityOpt.map((opt) => {
    const json = inlineSeccomp(opt);
    return json === undefined ? opt : `seccomp=${writeProfile(json)}`;
  });
}

/** The `repo` and `tag` query parameters of an image import for `ref`. */
export function importParams(
  caps: Pick<EngineCapabilities, "importTagInRepo">,
  ref: string,
): { repo: string; tag?: string } {
  const slash = ref.lastIndexOf("/");
  const colon = ref.lastIndexOf(":");
  const [repo, tag] = colon > slash ? [ref.slice(0, colon), ref.slice(colon + 1)] : [ref, "latest"];
  return caps.importTagInRepo ? { repo: `${repo}:${tag}` } : { repo, tag };
}

/**
 * A container's tmpfs options as the engine applies them: on Podman `uid=U,gid=G` of the
 * container's own user becomes `U`. An owner other than the container's user has no equivalent
 * there: `undefined` for that target, and the caller says so.
 */
export function tmpfsFor(
  caps: Pick<EngineCapabilities, "tmpfsOwnerAsU">,
  tmpfs: Record<string, string>,
  user: string,
): { tmpfs: Record<string, string>; unsupported: string[] } {
  if (!caps.tmpfsOwnerAsU) return { tmpfs: { ...tmpfs }, unsupported: [] };
  const [uid, gid] = user.split(":");
  const out: Record<string, string> = {};
  const unsupported: string[] = [];
  for (const [target, options] of Object.entries(tmpfs)) {
    const parts = options.split(",");
    const owner = parts.filter((p) => /^(uid|gid)=/.test(p));
    if (owner.length === 0) {
      out[target] = options;
      continue;
    }
    const own = owner.every((p) => p === `uid=${uid}` || p === `gid=${gid ?? uid}`);
    if (!own) unsupported.push(`${target} (${owner.join(",")} with user ${user})`);
    out[target] = [...parts.filter((p) => !/^(uid|gid)=/.test(p)), "U"].join(",");
  }
  return { tmpfs: out, unsupported };
}
