import { PassThrough, type Duplex } from "node:stream";
import type Docker from "dockerode";
import { OcboxError, errorMessage, tail } from "../errors.js";
import { chooseEndpoint, engineConnection, isConnectionError } from "./connect.js";
import {
  engineCapabilities,
  importParams,
  securityOptFor,
  tmpfsFor,
  ulimitsFor,
  volumeOptionsFor,
  type EngineCapabilities,
  type EngineFacts,
} from "./engine-capabilities.js";
import { engineError, podmanGap, statusCode } from "./engine-errors.js";
import { resolvConfArchive } from "./resolv-conf.js";
import type {
  AttachedExec,
  ContainerProcess,
  ContainerSpec,
  ContainerStats,
  ContainerState,
  ContainerSummary,
  ImageSummary,
  Engine,
  EngineInfo,
  ExecResult,
  ExecStreams,
  ExecStreamOptions,
  ImageConfig,
  NetworkAddresses,
  NetworkMember,
  PathStat,
} from "./engine.js";
import { execAttachedDocker } from "./exec-attached.js";
import { execStreamDocker } from "./exec-stream.js";
import { splitLines } from "./lines.js";
import { seccompProfileFile } from "./seccomp-file.js";

interface ProgressEvent {
  stream?: string;
  status?: string;
  progress?: string;
  id?: string;
  error?: string;
  errorDetail?: { message?: string };
}

/** The Docker Engine API through dockerode. Also serves Podman's Docker-compatible socket. */
export class DockerEngine implements Engine {
  readonly endpoint: string;
  private readonly docker: Docker;

  private readonly env: NodeJS.ProcessEnv;
  /** Why the connection itself failed (an ssh forward that did not start), when known. */
  private readonly connectionFailure: () => OcboxError | undefined;
  private readonly revive: () => Promise<boolean>;

  constructor(env: NodeJS.ProcessEnv = process.env) {
    const choice = chooseEndpoint(env);
    this.endpoint = choice.endpoint;
    const connection = engineConnection(choice, env);
    this.docker = connection.docker;
    this.connectionFailure = connection.failure;
    this.revive = connection.revive;
    this.env = env;
  }

  private factsOnce: Promise<EngineFacts> | undefined;

  /** The engine's facts, read once per engine object from /version and /info. */
  facts(): Promise<EngineFacts> {
    this.factsOnce ??= this.readFacts();
    this.factsOnce.catch(() => (this.factsOnce = undefined));
    return this.factsOnce;
  }

  private versionOnce: ReturnType<Docker["version"]> | undefined;

  /** /version, asked once per engine object (about 8 ms of the engine's time per ask here: it asks containerd and runc). */
  private version(): ReturnType<Docker["version"]> {
    this.versionOnce ??= this.call("version", () => this.docker.version());
    this.versionOnce.catch(() => (this.versionOnce = undefined));
    return this.versionOnce;
  }

  private async readFacts(): Promise<EngineFacts> {
    const [version, info] = await Promise.all([
      this.version(),
      this.call("info", () => this.docker.info() as Promise<DockerInfo>),
    ]);
    const facts = factsOf(version, info);
    if (facts.flavour !== "podman") return facts;
    // Podman's compat /info says neither whether it is rootless nor which cgroups it may use;
    // its own /libpod/info does.
    const libpod = await this.call("podman info", () => this.libpodInfo());
    return withLibpodInfo(facts, libpod);
  }

  private libpodInfo(): Promise<LibpodInfo> {
    return new Promise((resolve, reject) => {
      this.docker.modem.dial(
        { path: "/v4.0.0/libpod/info", method: "GET", statusCodes: { 200: true }, options: {} },
        (err: unknown, data: unknown) =>
          err
            ? reject(err instanceof Error ? err : new Error(errorMessage(err)))
            : resolve(data as LibpodInfo),
      );
    });
  }

  async capabilities(): Promise<EngineCapabilities> {
    return engineCapabilities(await this.facts());
  }

  /** True once the engine has answered a call: a refused socket after that means it went away. */
  private answered = false;

  /**
   * Run an engine call. Only the statuses in `expected` (the ones the caller means: 404 gone, 304
   * not modified, 409 removal in progress) become `fallback`; every other failure is a typed error
   * (engineError): a refused socket is ENGINE_UNAVAILABLE, "stopped answering" once it had answered.
   */
  private async call<T>(what: string, fn: () => Promise<T>): Promise<T>;
  private async call<T, U>(
    what: string,
    fn: () => Promise<T>,
    expected: readonly number[],
    fallback: U,
  ): Promise<T | U>;
  private async call<T, U>(
    what: string,
    fn: () => Promise<T>,
    expected: readonly number[] = [],
    fallback?: U,
  ): Promise<T | U | undefined> {
    try {
      const value = await this.reviving(fn);
      this.answered = true;
      return value;
    } catch (e) {
      const code = statusCode(e);
      if (code !== undefined) this.answered = true;
      if (code !== undefined && expected.includes(code)) return fallback;
      throw this.connectionFailure() ?? engineError(this.endpoint, what, e, this.answered);
    }
  }

  /**
   * `fn`, once more after a refused connection when that was a dead ssh forward started again
   * meanwhile (ssh-tunnel.ts): a request that was refused never reached the engine, so it is
   * safe to send again.
   */
  private async reviving<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      const code = (e as { code?: string } | undefined)?.code;
      // Refused, or a kept-alive connection of the dead forward that took no byte (EPIPE).
      const unsent = code === "ECONNREFUSED" || code === "ENOENT" || code === "EPIPE";
      if (unsent && (await this.revive())) return fn();
      throw e;
    }
  }

  /** Read once per engine object, as the facts are; ping() asks whether the engine answers now. */
  async info(): Promise<EngineInfo> {
    const [version, facts] = await Promise.all([this.version(), this.facts()]);
    return {
      endpoint: this.endpoint,
      version: version.Version,
      apiVersion: version.ApiVersion,
      os: version.Os,
      arch: version.Arch,
      flavour: facts.flavour,
      rootless: facts.rootless,
      id: facts.id ?? "",
    };
  }

  async ping(): Promise<void> {
    await this.call("ping", () => this.docker.ping());
  }

  async imageId(ref: string): Promise<string | undefined> {
    const info = await this.call(
      "inspect image",
      () => this.docker.getImage(ref).inspect(),
      [404],
      undefined,
    );
    return info?.Id;
  }

  async imageConfig(ref: string): Promise<ImageConfig | undefined> {
    const info = await this.call(
      "inspect image",
      () => this.docker.getImage(ref).inspect(),
      [404],
      undefined,
    );
    if (!info) return undefined;
    return {
      user: info.Config.User ?? "",
      workingDir: info.Config.WorkingDir ?? "",
      env: info.Config.Env ?? [],
    };
  }

  async pathStat(id: string, path: string): Promise<PathStat | undefined> {
    const res = (await this.call(
      `stat ${path}`,
      () => this.docker.getContainer(id).infoArchive({ path }),
      [404],
      undefined,
    )) as { headers?: Record<string, string | string[] | undefined>; resume?: () => void } | undefined;
    if (!res) return undefined;
    res.resume?.();
    const header = res.headers?.["x-docker-container-path-stat"];
    if (typeof header !== "string") return undefined;
    const stat = JSON.parse(Buffer.from(header, "base64").toString("utf8")) as {
      mode?: number;
      size?: number;
      linkTarget?: string;
    };
    return { mode: stat.mode ?? 0, size: stat.size ?? 0, linkTarget: stat.linkTarget ?? "" };
  }

  async imageSize(ref: string): Promise<number | undefined> {
    const info = await this.call(
      "inspect image",
      () => this.docker.getImage(ref).inspect(),
      [404],
      undefined,
    );
    return info?.Size;
  }

  async buildImage(
    context: NodeJS.ReadableStream,
    options: {
      tag: string;
      labels: Record<string, string>;
      onLine?: (line: string) => void;
      signal?: AbortSignal;
    },
  ): Promise<void> {
    const stream = await this.call("build", () =>
      this.docker.buildImage(context, {
        t: options.tag,
        labels: options.labels,
        rm: true,
        forcerm: true,
        ...(options.signal ? { abortSignal: options.signal } : {}),
      }),
    );
    let step = "";
    let stepOutput: string[] = [];
    const all: string[] = [];
    await new Promise<void>((resolve, reject) => {
      this.docker.modem.followProgress(
        stream,
        (err: Error | null) => (err ? reject(err) : resolve()),
        (event: ProgressEvent) => {
          if (event.error) {
            reject(
              new OcboxError("IMAGE_BUILD", `image build failed at ${step || "the first step"}`, {
                detail: `${tail(stepOutput.join("\n"), 30)}\n${event.errorDetail?.message ?? event.error}`,
                fix: "Read the step's output above. A failing apt-get usually means the package name is wrong or Debian's mirror is unreachable from containers.",
              }),
            );
            return;
          }
          for (const line of splitLines(event.stream ?? event.status ?? "")) {
            all.push(line);
            if (/^Step \d+\/\d+ : /.test(line)) {
              step = line;
              stepOutput = [];
            } else {
              stepOutput.push(line);
            }
            options.onLine?.(line);
          }
        },
      );
    }).catch((e: unknown) => {
      if (e instanceof OcboxError) throw e;
      if (isConnectionError(e)) throw engineError(this.endpoint, "build", e, true);
      throw new OcboxError(
        "IMAGE_BUILD",
        `image build failed: ${e instanceof Error ? e.message : String(e)}`,
        {
          detail: tail(all.join("\n"), 30),
        },
      );
    });
  }

  async pullImage(ref: string, onLine?: (line: string) => void): Promise<void> {
    const stream = await this.call(`pull ${ref}`, () => this.docker.pull(ref));
    await new Promise<void>((resolve, reject) => {
      this.docker.modem.followProgress(
        stream,
        (err: Error | null) => (err ? reject(err) : resolve()),
        (event: ProgressEvent) => {
          if (event.error) reject(new Error(event.error));
          else if (event.status) onLine?.(`${event.id ? `${event.id}: ` : ""}${event.status}`);
        },
      );
    }).catch((e: unknown) => {
      // The registry's refusal stays a plain error (the caller says what it means); a dropped
      // engine connection is the engine's.
      throw isConnectionError(e) ? engineError(this.endpoint, `pull ${ref}`, e, true) : e;
    });
  }

  async importImage(rootfsTar: NodeJS.ReadableStream, ref: string): Promise<void> {
    const params = importParams(await this.capabilities(), ref);
    const stream = await this.call("import image", () => this.docker.importImage(rootfsTar, params));
    await new Promise<void>((resolve, reject) => {
      this.docker.modem.followProgress(
        stream,
        (err: Error | null) => (err ? reject(err) : resolve()),
        (event: ProgressEvent) => {
          if (event.error) reject(new OcboxError("BOOTSTRAP", `image import failed: ${event.error}`));
        },
      );
    });
    if ((await this.imageId(ref)) === undefined)
      throw new OcboxError("BOOTSTRAP", `the engine imported the image but not as ${ref}`, {
        detail: `import parameters: ${JSON.stringify(params)}`,
        fix: `Tag it by hand (docker tag / podman tag IMAGE ${ref}) and report the engine's version.`,
      });
  }

  async removeImage(ref: string, options: { force?: boolean } = {}): Promise<void> {
    await this.call(
      "remove image",
      () => this.docker.getImage(ref).remove({ force: options.force ?? true }),
      [404],
      undefined,
    );
  }

  async createVolume(name: string, labels: Record<string, string>, driverOpts: Record<string, string>) {
    const opts = volumeOptionsFor(await this.capabilities(), driverOpts);
    await this.call("create volume", () =>
      this.docker.createVolume({ Name: name, Driver: "local", Labels: labels, DriverOpts: opts }),
    );
  }

  async removeVolume(name: string): Promise<void> {
    await this.call(
      "remove volume",
      () => this.docker.getVolume(name).remove({ force: true }),
      [404],
      undefined,
    );
  }

  async volumeExists(name: string): Promise<boolean> {
    return await this.call(
      "inspect volume",
      async () => {
        await this.docker.getVolume(name).inspect();
        return true;
      },
      [404],
      false,
    );
  }

  async volumeCreatedAt(name: string): Promise<string | undefined> {
    return await this.call(
      "inspect volume",
      async () => {
        const v = (await this.docker.getVolume(name).inspect()) as { CreatedAt?: unknown };
        return typeof v.CreatedAt === "string" ? v.CreatedAt : "";
      },
      [404],
      undefined,
    );
  }

  async volumeLabels(name: string): Promise<Record<string, string> | undefined> {
    return await this.call(
      "inspect volume",
      async () => {
        const v = (await this.docker.getVolume(name).inspect()) as { Labels?: Record<string, string> | null };
        return v.Labels ?? {};
      },
      [404],
      undefined,
    );
  }

  async putArchive(id: string, dir: string, tar: Buffer | NodeJS.ReadableStream): Promise<void> {
    await this.call("copy files into the container", () =>
      this.docker.getContainer(id).putArchive(tar, { path: dir }),
    );
  }

  async getArchive(id: string, path: string): Promise<NodeJS.ReadableStream | undefined> {
    return await this.call(
      "copy files out of the container",
      () => this.docker.getContainer(id).getArchive({ path }),
      [404],
      undefined,
    );
  }

  async listVolumes(labelFilter: string[]) {
    const result = await this.call("list volumes", () =>
      this.docker.listVolumes({ filters: JSON.stringify({ label: labelFilter }) }),
    );
    return (result.Volumes ?? []).map((v) => ({ name: v.Name, labels: v.Labels ?? {} }));
  }

  /** The last create on an engine that takes them one at a time (settled; its outcome is the caller's). */
  private createQueue: Promise<unknown> = Promise.resolve();

  async createContainer(spec: ContainerSpec): Promise<string> {
    const caps = await this.capabilities();
    if (!caps.serialCreate) return this.createOne(spec, caps);
    const next = this.createQueue.then(() => this.createOne(spec, caps));
    // The queue only orders the creates; each caller gets its own create's error from `next`.
    this.createQueue = next.then(
      () => undefined,
      () => undefined,
    );
    return next;
  }

  private async createOne(spec: ContainerSpec, caps: EngineCapabilities): Promise<string> {
    const ulimits = ulimitsFor(caps, spec.limits.nofile, spec.limits.nproc);
    const securityOpt = securityOptFor(caps, spec.securityOpt, (json) => seccompProfileFile(json, this.env));
    const tmpfs = tmpfsFor(caps, spec.tmpfs, spec.user);
    if (tmpfs.unsupported.length > 0) throw podmanGap("a tmpfs owned by another user", tmpfs.unsupported);
    const container = await this.call("create container", () =>
      this.docker.createContainer({
        name: spec.name,
        Image: spec.image,
        Labels: spec.labels,
        Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
        User: spec.user,
        ...(spec.cmd ? { Cmd: spec.cmd } : {}),
        ...(spec.entrypoint ? { Entrypoint: spec.entrypoint } : {}),
        ...(spec.workingDir ? { WorkingDir: spec.workingDir } : {}),
        StopTimeout: spec.stopTimeout,
        ...(spec.publish?.length
          ? { ExposedPorts: Object.fromEntries(spec.publish.map((p) => [`${p.containerPort}/tcp`, {}])) }
          : {}),
        ...(spec.healthcheck
          ? {
              Healthcheck: {
                Test: spec.healthcheck.test,
                Interval: spec.healthcheck.intervalS * 1e9,
                Timeout: spec.healthcheck.timeoutS * 1e9,
                Retries: spec.healthcheck.retries,
                StartPeriod: spec.healthcheck.startPeriodS * 1e9,
              },
            }
          : {}),
        HostConfig: {
          ...(caps.usernsMode ? { UsernsMode: caps.usernsMode } : {}),
          NetworkMode: spec.networkMode,
          ...(spec.publish?.length ? { PortBindings: portBindings(spec.publish) } : {}),
          Mounts: spec.mounts.map((m) => ({
            Type: m.type,
            Source: m.source,
            Target: m.target,
            ReadOnly: m.readOnly ?? false,
          })),
          Tmpfs: tmpfs.tmpfs,
          ReadonlyRootfs: spec.readOnlyRoot,
          CapDrop: spec.capDrop,
          CapAdd: spec.capAdd,
          SecurityOpt: securityOpt,
          ...(spec.limits.memoryBytes
            ? { Memory: spec.limits.memoryBytes, MemorySwap: spec.limits.memoryBytes }
            : {}),
          ...(spec.limits.nanoCpus ? { NanoCpus: spec.limits.nanoCpus } : {}),
          ...(spec.limits.pids ? { PidsLimit: spec.limits.pids } : {}),
          ...(spec.sysctls ? { Sysctls: spec.sysctls } : {}),
          ...(spec.runtime !== undefined ? { Runtime: spec.runtime } : {}),
          ...(spec.dns ? { Dns: spec.dns.servers, DnsOptions: spec.dns.options } : {}),
          ...(spec.groupAdd?.length ? { GroupAdd: spec.groupAdd } : {}),
          Ulimits: ulimits,
          LogConfig: {
            Type: "json-file",
            Config: { "max-size": spec.logMaxSize, "max-file": String(spec.logMaxFiles) },
          },
        },
      }),
    );
    if (caps.resolvConfByArchive && spec.networkMode === "none" && spec.dns) {
      const dns = await resolvConfArchive(spec.dns);
      await this.putArchive(container.id, "/", dns).catch(async (e: unknown) => {
        await this.removeContainer(container.id);
        throw e;
      });
    }
    return container.id;
  }

  async startContainer(id: string): Promise<void> {
    await this.call("start container", () => this.docker.getContainer(id).start());
  }

  async stopContainer(id: string, timeoutS: number): Promise<void> {
    // 304: already stopped; 404: already gone.
    await this.call(
      "stop container",
      () => this.docker.getContainer(id).stop({ t: timeoutS }),
      [304, 404],
      undefined,
    );
  }

  async removeContainer(id: string): Promise<void> {
    // 404: already gone; 409: removal already in progress.
    await this.call(
      "remove container",
      () => this.docker.getContainer(id).remove({ force: true, v: true }),
      [404, 409],
      undefined,
    );
  }

  async containerState(id: string): Promise<ContainerState | undefined> {
    const info = await this.call(
      "inspect container",
      () => this.docker.getContainer(id).inspect(),
      [404],
      undefined,
    );
    if (!info) return undefined;
    return {
      running: info.State.Running,
      exitCode: info.State.Running ? undefined : info.State.ExitCode,
      health: info.State.Health?.Status,
      startedAt: info.State.StartedAt,
      ...(info.State.OOMKilled ? { oomKilled: true } : {}),
    };
  }

  async listContainers(labelFilter: string[], all = true): Promise<ContainerSummary[]> {
    return this.containerList({ label: labelFilter }, all);
  }

  async containersUsing(what: { image: string } | { volume: string }): Promise<ContainerSummary[]> {
    if ("volume" in what) return this.containerList({ volume: [what.volume] }, true);
    // `ancestor` also matches containers of images built on this one; only its own are kept.
    const list = await this.containerList({ ancestor: [what.image] }, true);
    return list.filter((c) => c.imageId === what.image);
  }

  async listImages(labelFilter: string[]): Promise<ImageSummary[]> {
    const list = await this.call("list images", () =>
      this.docker.listImages({ all: false, filters: JSON.stringify({ label: labelFilter }) }),
    );
    return list.map((i) => ({
      id: i.Id,
      tags: (i.RepoTags ?? []).filter((t) => t !== "<none>:<none>"),
      labels: i.Labels ?? {},
      createdAt: new Date(i.Created * 1000),
    }));
  }

  private async containerList(
    filters: Record<string, string[]>,
    all: boolean,
  ): Promise<Array<ContainerSummary & { imageId: string }>> {
    const list = await this.call("list containers", () =>
      this.docker.listContainers({ all, filters: JSON.stringify(filters) }),
    );
    return list.map((c) => ({
      imageId: c.ImageID,
      id: c.Id,
      name: (c.Names[0] ?? "").replace(/^\//, ""),
      image: c.Image,
      state: c.State,
      status: c.Status,
      labels: c.Labels ?? {},
      createdAt: new Date(c.Created * 1000),
    }));
  }

  async followLogs(
    id: string,
    onLine: (line: string, stream: "stdout" | "stderr") => void,
    signal: AbortSignal,
  ): Promise<void> {
    const raw = (await this.call("follow logs", () =>
      this.docker.getContainer(id).logs({ follow: true, stdout: true, stderr: true }),
    )) as NodeJS.ReadableStream & { destroy?: () => void };
    const out = new PassThrough();
    const err = new PassThrough();
    this.docker.modem.demuxStream(raw, out, err);
    const pump = (s: PassThrough, name: "stdout" | "stderr") => {
      let buffered = "";
      s.on("data", (chunk: Buffer) => {
        buffered += chunk.toString("utf8");
        const parts = buffered.split("\n");
        buffered = parts.pop() ?? "";
        for (const line of parts) onLine(line.replace(/\r$/, ""), name);
      });
      return () => {
        if (buffered) onLine(buffered, name);
      };
    };
    const flushOut = pump(out, "stdout");
    const flushErr = pump(err, "stderr");
    await new Promise<void>((resolve) => {
      const done = () => {
        flushOut();
        flushErr();
        resolve();
      };
      raw.on("end", done);
      raw.on("close", done);
      raw.on("error", done);
      const abort = () => {
        raw.destroy?.();
        done();
      };
      if (signal.aborted) abort();
      else signal.addEventListener("abort", abort, { once: true });
    });
  }

  async logsTail(id: string, lines: number): Promise<string> {
    // 404: the container is gone, and its log with it.
    const buffer = await this.call(
      "read logs",
      () => this.docker.getContainer(id).logs({ follow: false, stdout: true, stderr: true, tail: lines }),
      [404],
      undefined,
    );
    return buffer === undefined ? "" : demuxBuffer(buffer);
  }

  async exec(
    id: string,
    argv: string[],
    options: { user?: string; env?: Record<string, string> } = {},
  ): Promise<ExecResult> {
    const container = this.docker.getContainer(id);
    const exec = await this.call("exec", () =>
      container.exec({
        Cmd: argv,
        AttachStdout: true,
        AttachStderr: true,
        ...(options.user ? { User: options.user } : {}),
        ...(options.env ? { Env: Object.entries(options.env).map(([k, v]) => `${k}=${v}`) } : {}),
      }),
    );
    const stream = await this.call("exec start", () => exec.start({ hijack: true, stdin: false }));
    const out = new PassThrough();
    const err = new PassThrough();
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    out.on("data", (c: Buffer) => stdout.push(c));
    err.on("data", (c: Buffer) => stderr.push(c));
    this.docker.modem.demuxStream(stream, out, err);
    await new Promise<void>((resolve) => {
      stream.on("end", resolve);
      stream.on("close", resolve);
      stream.on("error", () => resolve());
    });
    const info = await this.call("exec inspect", () => exec.inspect());
    return {
      exitCode: info.ExitCode ?? -1,
      stdout: Buffer.concat(stdout).toString("utf8"),
      stderr: Buffer.concat(stderr).toString("utf8"),
    };
  }

  execAttached(
    id: string,
    argv: string[],
    streams: ExecStreams,
    options: { user?: string; env?: Record<string, string> } = {},
  ): Promise<AttachedExec> {
    return execAttachedDocker(this.docker, (what, fn) => this.call(what, fn), id, argv, streams, options);
  }

  execStream(id: string, argv: string[], options: ExecStreamOptions = {}): Promise<Duplex> {
    return execStreamDocker(this.docker, (what, fn) => this.call(what, fn), id, argv, options);
  }

  /** One stats sample; undefined when the container is gone (404) or not running (no usage). */
  private async rawStats(id: string): Promise<DockerStats | undefined> {
    return await this.call(
      "read stats",
      () => this.docker.getContainer(id).stats({ stream: false }),
      [404],
      undefined,
    );
  }

  async memoryUsage(id: string): Promise<number | undefined> {
    const m = (await this.rawStats(id))?.memory_stats;
    if (!m?.usage) return undefined;
    const cache = m.stats?.total_inactive_file ?? m.stats?.inactive_file ?? m.stats?.cache ?? 0;
    return m.usage - cache;
  }

  async stats(id: string): Promise<ContainerStats | undefined> {
    const raw = await this.rawStats(id);
    if (!raw?.memory_stats?.usage) return undefined;
    return statsFromDocker(raw);
  }

  async top(id: string): Promise<ContainerProcess[]> {
    // 404: gone; 409: not running. Either way no processes.
    const raw = (await this.call(
      "top",
      () => this.docker.getContainer(id).top({ ps_args: "-o pid,user,args" }),
      [404, 409],
      {},
    )) as {
      Titles?: string[];
      Processes?: string[][];
    };
    const titles = (raw.Titles ?? []).map((t) => t.toUpperCase());
    const col = (name: string) => titles.findIndex((t) => t === name || (t === "CMD" && name === "COMMAND"));
    const [pid, user, cmd] = [col("PID"), col("USER"), Math.max(col("COMMAND"), col("ARGS"))];
    return (raw.Processes ?? []).map((p) => ({
      pid: Number(p[pid] ?? 0),
      user: p[user] ?? "",
      command: p[cmd] ?? "",
    }));
  }

  async networkMembers(network: string): Promise<NetworkMember[] | undefined> {
    const net = (await this.call(
      "inspect network",
      () => this.docker.getNetwork(network).inspect(),
      [404],
      undefined,
    )) as { Name: string } | undefined;
    if (!net) return undefined;
    const name = net.Name;
    // Stopped containers keep their endpoint config, so the filter finds them too.
    const list = await this.call("list containers", () =>
      this.docker.listContainers({ all: true, filters: JSON.stringify({ network: [name] }) }),
    );
    const members = await Promise.all(
      list.map(async (c): Promise<NetworkMember | undefined> => {
        // 404: removed meanwhile.
        const info = await this.call(
          "inspect container",
          () => this.docker.getContainer(c.Id).inspect(),
          [404],
          undefined,
        );
        if (!info) return undefined;
        const ep = info.NetworkSettings.Networks[name];
        const ipv4 = info.State.Running ? ep?.IPAddress : undefined;
        return {
          name: info.Name.replace(/^\//, ""),
          aliases: (ep?.Aliases as string[] | null | undefined) ?? [],
          running: info.State.Running,
          ...(ipv4 ? { ipv4 } : {}),
        };
      }),
    );
    return members.filter((m): m is NetworkMember => m !== undefined);
  }

  async ensureNetwork(
    name: string,
    options: { labels: Record<string, string>; icc: boolean },
  ): Promise<NetworkAddresses> {
    // One creation at a time per engine and name in this process: two sandboxes starting at once
    // on a fresh engine made two networks of the same name (CheckDuplicate is best effort), and
    // every later use of the name failed as ambiguous.
    const key = `${this.endpoint} ${name}`;
    const pending = ensuringNetworks.get(key) ?? this.createNetworkOnce(name, options);
    ensuringNetworks.set(key, pending);
    try {
      return await pending;
    } finally {
      if (ensuringNetworks.get(key) === pending) ensuringNetworks.delete(key);
    }
  }

  private async createNetworkOnce(
    name: string,
    options: { labels: Record<string, string>; icc: boolean },
  ): Promise<NetworkAddresses> {
    const found = await this.inspectNetwork(name);
    if (found) return found;
    // 409: another process created it meanwhile.
    await this.call(
      "create network",
      () =>
        this.docker.createNetwork({
          Name: name,
          Driver: "bridge",
          CheckDuplicate: true,
          Labels: options.labels,
          Options: { "com.docker.network.bridge.enable_icc": String(options.icc) },
        }),
      [409],
      undefined,
    );
    const made = await this.inspectNetwork(name);
    if (!made) throw new OcboxError("ENGINE", `network ${name} was created but cannot be inspected`);
    return made;
  }

  /**
   * Another process may still have raced this one to a second network of the name: keep the
   * oldest, remove the unused others (one in use stays; the engine then reports the ambiguity).
   */
  private async dedupeNetwork(name: string): Promise<void> {
    const list = (await this.call("list networks", () =>
      this.docker.listNetworks({ filters: JSON.stringify({ name: [name] }) }),
    )) as Array<RawNetwork & { Id: string; Created?: string }>;
    const same = list
      .filter((n) => n.Name === name)
      .sort((a, b) => (a.Created ?? "").localeCompare(b.Created ?? "") || a.Id.localeCompare(b.Id));
    for (const extra of same.slice(1))
      await this.call(
        "remove network",
        () => this.docker.getNetwork(extra.Id).remove(),
        [403, 404, 409],
        undefined,
      );
  }

  async listNetworkAddresses(): Promise<NetworkAddresses[]> {
    const list = (await this.call("list networks", () => this.docker.listNetworks())) as RawNetwork[];
    return list.map(networkAddresses);
  }

  private async inspectNetwork(name: string, deduped = false): Promise<NetworkAddresses | undefined> {
    const inspect = () =>
      this.call("inspect network", () => this.docker.getNetwork(name).inspect(), [404], undefined) as Promise<
        RawNetwork | undefined
      >;
    try {
      const net = await inspect();
      return net ? networkAddresses(net) : undefined;
    } catch (e) {
      // 400 "… is ambiguous": two networks of this name (a race of two starts); keep one.
      const text = e instanceof OcboxError ? `${e.message} ${e.detail ?? ""}` : errorMessage(e);
      if (deduped || !/ambiguous/.test(text)) throw e;
      await this.dedupeNetwork(name);
      return this.inspectNetwork(name, true);
    }
  }
}

interface DockerStats {
  cpu_stats?: { cpu_usage?: { total_usage?: number }; system_cpu_usage?: number; online_cpus?: number };
  precpu_stats?: { cpu_usage?: { total_usage?: number }; system_cpu_usage?: number };
  memory_stats?: { usage?: number; limit?: number; stats?: Record<string, number> };
  pids_stats?: { current?: number };
}

/** Docker's stats document → ContainerStats (the `docker stats` CPU formula). */
function statsFromDocker(s: DockerStats): ContainerStats {
  const cpuDelta = (s.cpu_stats?.cpu_usage?.total_usage ?? 0) - (s.precpu_stats?.cpu_usage?.total_usage ?? 0);
  const sysDelta = (s.cpu_stats?.system_cpu_usage ?? 0) - (s.precpu_stats?.system_cpu_usage ?? 0);
  const cpus = s.cpu_stats?.online_cpus ?? 1;
  const m = s.memory_stats ?? {};
  const cache = m.stats?.total_inactive_file ?? m.stats?.inactive_file ?? m.stats?.cache ?? 0;
  return {
    cpuPercent: cpuDelta > 0 && sysDelta > 0 ? (cpuDelta / sysDelta) * cpus * 100 : 0,
    memoryBytes: Math.max(0, (m.usage ?? 0) - cache),
    memoryLimitBytes: m.limit ?? 0,
    pids: s.pids_stats?.current ?? 0,
  };
}

interface DockerInfo {
  /** The daemon's own id (Docker); Podman's compat /info leaves it empty. */
  ID?: string;
  Name?: string;
  SecurityOptions?: string[] | null;
  CgroupVersion?: string;
  CgroupDriver?: string;
  MemoryLimit?: boolean;
  PidsLimit?: boolean;
  CpuCfsQuota?: boolean;
  Runtimes?: Record<string, { path?: string; runtimeArgs?: string[] | null }> | null;
}

interface LibpodInfo {
  host?: {
    cgroupVersion?: string;
    cgroupManager?: string;
    cgroupControllers?: string[] | null;
    security?: { rootless?: boolean };
    idMappings?: {
      uidmap?: Array<{ container_id: number; host_id: number }> | null;
      gidmap?: Array<{ container_id: number; host_id: number }> | null;
    };
  };
}

/** Podman's own answer on top: rootless, cgroup version and manager, the controllers it may use. */
export function withLibpodInfo(facts: EngineFacts, libpod: LibpodInfo): EngineFacts {
  const host = libpod.host ?? {};
  const controllers = host.cgroupControllers ?? [];
  const rootless = host.security?.rootless === true;
  const user = (map: Array<{ container_id: number; host_id: number }> | null | undefined) =>
    map?.find((m) => m.container_id === 0)?.host_id;
  const uid = user(host.idMappings?.uidmap);
  const gid = user(host.idMappings?.gidmap);
  return {
    ...facts,
    rootless,
    ...(rootless && uid !== undefined && gid !== undefined ? { serviceUser: { uid, gid } } : {}),
    cgroupVersion: host.cgroupVersion?.replace(/^v/, "") ?? facts.cgroupVersion,
    cgroupDriver: host.cgroupManager ?? facts.cgroupDriver,
    // Rootless, the controllers are the ones delegated to the user; none on cgroup v1.
    ...(rootless
      ? {
          memoryLimit: controllers.includes("memory"),
          pidsLimit: controllers.includes("pids"),
          cpuCfsQuota: controllers.includes("cpu"),
        }
      : {}),
  };
}

/** The facts of an engine from its /version and /info answers. Pure. */
export function factsOf(version: { Components?: Array<{ Name?: string }> }, info: DockerInfo): EngineFacts {
  const podman = (version.Components ?? []).some((c) => /podman/i.test(c.Name ?? ""));
  return {
    flavour: podman ? "podman" : "docker",
    id: info.ID || info.Name || "",
    rootless: (info.SecurityOptions ?? []).some((o) => /(^|,)name=rootless(,|$)/.test(o)),
    cgroupVersion: info.CgroupVersion,
    cgroupDriver: info.CgroupDriver,
    memoryLimit: info.MemoryLimit !== false,
    pidsLimit: info.PidsLimit !== false,
    cpuCfsQuota: info.CpuCfsQuota !== false,
    ...(info.Runtimes ? { runtimes: runtimesOf(info.Runtimes) } : {}),
  };
}

/** /info's `Runtimes` with every field present. Pure. */
function runtimesOf(
  runtimes: NonNullable<DockerInfo["Runtimes"]>,
): Record<string, { path: string; runtimeArgs: string[] }> {
  return Object.fromEntries(
    Object.entries(runtimes).map(([name, r]) => [
      name,
      { path: r.path ?? "", runtimeArgs: [...(r.runtimeArgs ?? [])] },
    ]),
  );
}

/** Docker's multiplexed log frames (8-byte header) → text. TTY logs come through as they are. */
function demuxBuffer(buffer: Buffer): string {
  if (!Buffer.isBuffer(buffer)) return String(buffer);
  const parts: Buffer[] = [];
  let offset = 0;
  while (offset + 8 <= buffer.length) {
    const kind = buffer[offset];
    if (kind !== 1 && kind !== 2) return buffer.toString("utf8");
    const size = buffer.readUInt32BE(offset + 4);
    parts.push(buffer.subarray(offset + 8, offset + 8 + size));
    offset += 8 + size;
  }
  return Buffer.concat(parts).toString("utf8");
}

/** Network creations in flight, per engine endpoint and name (DockerEngine.ensureNetwork). */
const ensuringNetworks = new Map<string, Promise<NetworkAddresses>>();

interface RawNetwork {
  Name: string;
  IPAM?: { Config?: Array<{ Subnet?: string; Gateway?: string }> | null };
}

/** A network's gateways and subnets; a gateway dockerd did not record is its subnet's first address. */
function networkAddresses(net: RawNetwork): NetworkAddresses {
  const config = net.IPAM?.Config ?? [];
  const subnets = config.flatMap((c) => (c.Subnet ? [c.Subnet] : []));
  const gateways = config.flatMap((c) => {
    if (c.Gateway) return [c.Gateway];
    const m = /^(\d+\.\d+\.\d+)\.\d+\/(\d+)$/.exec(c.Subnet ?? "");
    return m && Number(m[2]) <= 24 ? [`${m[1]}.1`] : [];
  });
  return { name: net.Name, gateways, subnets };
}

function portBindings(
  publish: NonNullable<ContainerSpec["publish"]>,
): Record<string, Array<{ HostIp: string; HostPort: string }>> {
  return Object.fromEntries(
    publish.map((p) => [`${p.containerPort}/tcp`, [{ HostIp: p.hostIp, HostPort: String(p.hostPort) }]]),
  );
}
