import type { Duplex } from "node:stream";
import type { EngineCapabilities } from "./engine-capabilities.js";

/**
 * The narrow interface ocbox needs from a container engine. Only `docker-engine.ts` knows the
 * Docker Engine API; everything above talks to this.
 */

export interface EngineInfo {
  endpoint: string;
  version: string;
  apiVersion: string;
  os: string;
  arch: string;
  /** "podman" when the socket belongs to Podman's Docker-compatible service. */
  flavour: "docker" | "podman";
  /** Podman's service running as an ordinary user (user-namespaced). */
  rootless: boolean;
  /** The engine's own id (a new engine behind the same endpoint has another); "" when unknown. */
  id: string;
}

export interface Mount {
  type: "bind" | "volume";
  source: string;
  target: string;
  readOnly?: boolean;
}

export interface ContainerSpec {
  name: string;
  image: string;
  labels: Record<string, string>;
  env: Record<string, string>;
  /** "uid:gid" */
  user: string;
  cmd?: string[];
  /** Replaces the image's entrypoint (a one-shot command such as `ocbox scan`'s dpkg-query). */
  entrypoint?: string[];
  workingDir?: string;
  /** "none", "host", "bridge" or a network name. */
  networkMode: string;
  /** Container TCP ports published on an address of the engine's host (127.0.0.1). */
  publish?: Array<{ hostIp: string; hostPort: number; containerPort: number }>;
  mounts: Mount[];
  /** target → mount options (size, mode, uid, gid). */
  tmpfs: Record<string, string>;
  readOnlyRoot: boolean;
  capDrop: string[];
  capAdd: string[];
  securityOpt: string[];
  limits: {
    memoryBytes?: number;
    nanoCpus?: number;
    pids?: number;
    nofile?: number;
    /** RLIMIT_NPROC of the container's processes (gVisor's sentry enforces it per sandbox). */
    nproc?: number;
  };
  sysctls?: Record<string, string>;
  /** The OCI runtime by its registered name (HostConfig.Runtime); absent: the engine's default. */
  runtime?: string;
  /** The container's /etc/resolv.conf, written by the engine (no host file is mounted). */
  dns?: { servers: string[]; options: string[] };
  /** Supplementary groups (numeric gids) of the container's user. */
  groupAdd?: string[];
  /** Seconds between SIGTERM and SIGKILL on stop. */
  stopTimeout: number;
  healthcheck?: {
    test: string[];
    intervalS: number;
    timeoutS: number;
    retries: number;
    startPeriodS: number;
  };
  logMaxSize: string;
  logMaxFiles: number;
}

export interface ContainerSummary {
  id: string;
  name: string;
  image: string;
  state: string;
  status: string;
  labels: Record<string, string>;
  createdAt: Date;
}

/** An image as listed by the engine. */
export interface ImageSummary {
  id: string;
  /** `repo:tag` names; empty for an image that lost its tag (rebuilt under the same one). */
  tags: string[];
  labels: Record<string, string>;
  createdAt: Date;
}

export interface ContainerState {
  running: boolean;
  exitCode: number | undefined;
  health: string | undefined;
  startedAt: string;
  /** The engine's OOM killer ended it (at its memory limit); absent when the engine does not say. */
  oomKilled?: boolean;
}

/** A network's addresses, as the engine reports them. */
export interface NetworkAddresses {
  name: string;
  /** The bridge's own address on each subnet: an address of the engine's host. */
  gateways: string[];
  subnets: string[];
}

/** A container attached to a Docker network, as that network sees it. */
export interface NetworkMember {
  name: string;
  /** Its aliases on the network (the engine adds the short container id). */
  aliases: string[];
  running: boolean;
  /** Its IPv4 address on the network; absent when it is not running (or has none). */
  ipv4?: string;
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** The streams of an attached exec (`ocbox exec`). */
export interface ExecStreams {
  /** Forwarded to the command; its end closes the command's stdin. Absent: no stdin. */
  stdin?: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** Give the command a terminal of this size; its output then arrives as one stream on stdout. */
  tty?: { rows: number; columns: number };
}

export interface AttachedExec {
  /** Resize the command's terminal (with `tty`). */
  resize(size: { rows: number; columns: number }): Promise<void>;
  /** The command's exit code, once it ended and its output was passed on. */
  exitCode: Promise<number>;
}

export interface ExecStreamOptions {
  user?: string;
  env?: Record<string, string>;
  /** Each line the command writes to stderr (its stdout is the stream). */
  onStderr?: (line: string) => void;
}

export interface ImageConfig {
  /** "" when the image sets none (root). */
  user: string;
  /** "" when the image sets none (/). */
  workingDir: string;
  env: string[];
}

export interface PathStat {
  /** Go's os.FileMode bits as the engine reports them (type bits high, permissions low). */
  mode: number;
  size: number;
  /** The link's target, for a symbolic link; "" otherwise. */
  linkTarget: string;
}

export interface BuildProgress {
  /** A line of build output, without the trailing newline. */
  line: string;
}

export interface Engine {
  readonly endpoint: string;
  /** The engine's version and facts, read once per engine object. */
  info(): Promise<EngineInfo>;
  /** Does the engine answer now? (Its cheapest call, asked each time.) */
  ping(): Promise<void>;
  /** What this engine does differently from Docker's API, detected once (engine-capabilities.ts). */
  capabilities(): Promise<EngineCapabilities>;
  imageId(ref: string): Promise<string | undefined>;
  imageSize(ref: string): Promise<number | undefined>;
  /** The image's own USER, WORKDIR and ENV (a benchmark image runs with them); undefined when absent. */
  imageConfig(ref: string): Promise<ImageConfig | undefined>;
  /** What is at `path` in a created (not necessarily started) container; links not followed. */
  pathStat(id: string, path: string): Promise<PathStat | undefined>;
  /** Build from a tar stream of a context; throws IMAGE_BUILD with the failing step. */
  buildImage(
    context: NodeJS.ReadableStream,
    options: {
      tag: string;
      labels: Record<string, string>;
      onLine?: (line: string) => void;
      /** Aborting closes the build connection; the engine then stops the build and removes its containers. */
      signal?: AbortSignal;
    },
  ): Promise<void>;
  pullImage(ref: string, onLine?: (line: string) => void): Promise<void>;
  importImage(rootfsTar: NodeJS.ReadableStream, ref: string, changes?: string[]): Promise<void>;
  /**
   * Remove an image (a tag, or an id). `force: false` (prune) refuses an image any container uses,
   * even a stopped one; the default forces, which the engine still refuses for a running container.
   */
  removeImage(ref: string, options?: { force?: boolean }): Promise<void>;
  /** Images carrying every label of `labelFilter` (`key=value` or `key`). */
  listImages(labelFilter: string[]): Promise<ImageSummary[]>;
  /** Every container (running or stopped, ocbox's or not) made from this image id or mounting this volume. */
  containersUsing(what: { image: string } | { volume: string }): Promise<ContainerSummary[]>;

  createVolume(
    name: string,
    labels: Record<string, string>,
    driverOpts: Record<string, string>,
  ): Promise<void>;
  removeVolume(name: string): Promise<void>;
  volumeExists(name: string): Promise<boolean>;
  /**
   * When the engine made this volume (its `CreatedAt`, as the engine gives it); undefined when there
   * is no such volume, "" when the engine gives no time. Only the engine sets it: a volume removed
   * and made again under the same name has a new one.
   */
  volumeCreatedAt(name: string): Promise<string | undefined>;
  /** A volume's labels; undefined when there is no such volume. */
  volumeLabels(name: string): Promise<Record<string, string> | undefined>;
  listVolumes(labelFilter: string[]): Promise<Array<{ name: string; labels: Record<string, string> }>>;

  createContainer(spec: ContainerSpec): Promise<string>;
  startContainer(id: string): Promise<void>;
  /** SIGTERM, then SIGKILL after `timeoutS`. Missing or stopped containers are fine. */
  stopContainer(id: string, timeoutS: number): Promise<void>;
  removeContainer(id: string): Promise<void>;
  containerState(id: string): Promise<ContainerState | undefined>;
  listContainers(labelFilter: string[], all?: boolean): Promise<ContainerSummary[]>;
  /** Follow stdout+stderr line by line until the container stops or `signal` aborts. */
  followLogs(
    id: string,
    onLine: (line: string, stream: "stdout" | "stderr") => void,
    signal: AbortSignal,
  ): Promise<void>;
  logsTail(id: string, lines: number): Promise<string>;
  exec(
    id: string,
    argv: string[],
    options?: { user?: string; env?: Record<string, string> },
  ): Promise<ExecResult>;
  /** Like `docker exec -i` (and `-t` with `streams.tty`): streams attached as the command runs. */
  execAttached(
    id: string,
    argv: string[],
    streams: ExecStreams,
    options?: { user?: string; env?: Record<string, string> },
  ): Promise<AttachedExec>;
  /**
   * An exec whose stdin and stdout are one byte stream (a relay): what the stream's writer writes
   * reaches the command's stdin, its stdout is what the stream reads; ending the write side closes
   * the command's stdin, destroying the stream ends the exec's connection.
   */
  execStream(id: string, argv: string[], options?: ExecStreamOptions): Promise<Duplex>;
  /**
   * Extract a tar archive into `dir` of a container (created or running); entries keep the
   * archive's modes and owners. The target must be on a writable volume or the writable root.
   */
  putArchive(id: string, dir: string, tar: Buffer | NodeJS.ReadableStream): Promise<void>;
  /**
   * A tar stream of `path` in a container (created, running or stopped), as the engine packs it
   * (links as links); undefined when the path or the container does not exist.
   */
  getArchive(id: string, path: string): Promise<NodeJS.ReadableStream | undefined>;
  /** Resources in use: memory bytes of a running container. */
  memoryUsage(id: string): Promise<number | undefined>;
  /** One stats sample of a running container (undefined when it is not running). */
  stats(id: string): Promise<ContainerStats | undefined>;
  /** The container's processes as the engine sees them (host pids), without entering it. */
  top(id: string): Promise<ContainerProcess[]>;
  /** Containers attached to a network, running or not; undefined when there is no such network. */
  networkMembers(network: string): Promise<NetworkMember[] | undefined>;
  /**
   * A bridge network of ocbox's own, created when missing (two starts at once are fine);
   * `icc: false` keeps its containers from reaching each other.
   */
  ensureNetwork(
    name: string,
    options: { labels: Record<string, string>; icc: boolean },
  ): Promise<NetworkAddresses>;
  /** The addresses of every network the engine has (their gateways are the engine host's). */
  listNetworkAddresses(): Promise<NetworkAddresses[]>;
}

export interface ContainerStats {
  /** Percent of one CPU (200 = two CPUs busy), from the engine's two readings. */
  cpuPercent: number;
  /** Memory in use without the page cache, bytes. */
  memoryBytes: number;
  memoryLimitBytes: number;
  pids: number;
}

export interface ContainerProcess {
  /** The process id on the engine's host. */
  pid: number;
  user: string;
  command: string;
}
