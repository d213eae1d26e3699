import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import "./dockerode-deferred.js";
import Docker from "dockerode";
import { OcboxError } from "../errors.js";
import { currentContext, userSocketCandidates, type ContextEndpoint } from "./engine-discovery.js";
import { parseSshEndpoint, type SshEndpoint } from "./ssh-endpoint.js";
import { sshTunnel } from "./ssh-tunnel.js";

export interface EndpointChoice {
  /** What the user would write in DOCKER_HOST. */
  endpoint: string;
  options: Docker.DockerOptions | undefined;
  source: "DOCKER_HOST" | "docker context" | "docker socket" | "podman socket" | "user socket" | "default";
  /** For a context or a per-user socket: which ("colima", "Docker Desktop"). */
  via?: string;
  /** An ssh:// endpoint: reached through a forwarding `ssh` (ssh-tunnel.ts), not dockerode's ssh. */
  ssh?: SshEndpoint;
}

const readText = (path: string): string | undefined => {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    // Absent or unreadable is no such file for discovery; anything else is a real failure.
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR" || code === "EACCES" || code === "EISDIR") return undefined;
    throw e;
  }
};

/**
 * Where the engine is, tried in order: DOCKER_HOST, the Docker CLI's current context, the Docker
 * socket, Podman's rootless and rootful sockets, then the per-user sockets of Docker Desktop,
 * Colima, Rancher Desktop and Podman machines (engine-discovery.ts). Pure apart from the file
 * checks and reads it is handed.
 */
export function chooseEndpoint(
  env: NodeJS.ProcessEnv,
  exists: (path: string) => boolean = existsSync,
  read: (path: string) => string | undefined = readText,
): EndpointChoice {
  const dockerHost = env.DOCKER_HOST?.trim();
  // A socket is handed to dockerode as given here: it would read `process.env.DOCKER_HOST`, not
  // `env` (a driver made for another engine than the process's went to the process's).
  if (dockerHost?.startsWith("unix://"))
    return {
      endpoint: dockerHost,
      options: { socketPath: dockerHost.slice("unix://".length) },
      source: "DOCKER_HOST",
    };
  if (dockerHost && /^ssh:\/\//i.test(dockerHost))
    return {
      endpoint: dockerHost,
      options: undefined,
      source: "DOCKER_HOST",
      ssh: parseSshEndpoint(dockerHost),
    };
  // Other schemes: dockerode reads DOCKER_HOST (and DOCKER_TLS_VERIFY, DOCKER_CERT_PATH) itself.
  if (dockerHost) return { endpoint: dockerHost, options: undefined, source: "DOCKER_HOST" };
  const context = currentContext(env, { exists, read });
  if (context) return contextChoice(context, env, read);
  const candidates: Array<[string, EndpointChoice["source"], string?]> = [
    ["/var/run/docker.sock", "docker socket"],
  ];
  if (env.XDG_RUNTIME_DIR) candidates.push([`${env.XDG_RUNTIME_DIR}/podman/podman.sock`, "podman socket"]);
  candidates.push(["/run/podman/podman.sock", "podman socket"]);
  for (const c of userSocketCandidates(env)) candidates.push([c.path, "user socket", c.what]);
  for (const [socketPath, source, via] of candidates) {
    if (exists(socketPath))
      return { endpoint: `unix://${socketPath}`, options: { socketPath }, source, ...(via ? { via } : {}) };
  }
  return {
    endpoint: "unix:///var/run/docker.sock",
    options: { socketPath: "/var/run/docker.sock" },
    source: "default",
  };
}

/** dockerode's options for a context's endpoint (unix, tcp with its TLS files, ssh). */
function contextChoice(
  context: ContextEndpoint,
  env: NodeJS.ProcessEnv,
  read: (path: string) => string | undefined,
): EndpointChoice {
  const base = { endpoint: context.host, source: "docker context" as const, via: context.name };
  if (context.host.startsWith("unix://")) return { ...base, options: { socketPath: context.host.slice(7) } };
  let url: URL;
  try {
    url = new URL(context.host);
  } catch {
    throw new OcboxError(
      "ENGINE_UNAVAILABLE",
      `the Docker context "${context.name}" has an endpoint ocbox cannot read`,
      {
        detail: context.host,
        fix: "Use unix://, tcp:// or ssh:// endpoints, or set DOCKER_HOST.",
      },
    );
  }
  if (url.protocol === "ssh:") return { ...base, options: undefined, ssh: parseSshEndpoint(context.host) };
  const tls = context.tlsDir;
  const file = (name: string) => (tls ? read(join(tls, name)) : undefined);
  const [ca, cert, key] = [file("ca.pem"), file("cert.pem"), file("key.pem")];
  return {
    ...base,
    options: {
      protocol: tls ? "https" : "http",
      host: url.hostname,
      port: Number(url.port || (tls ? 2376 : 2375)),
      ...(ca ? { ca } : {}),
      ...(cert ? { cert } : {}),
      ...(key ? { key } : {}),
    },
  };
}

export function engineUnavailable(endpoint: string, cause: unknown): OcboxError {
  return new OcboxError("ENGINE_UNAVAILABLE", `no container engine answers at ${endpoint}`, {
    cause,
    detail: cause instanceof Error ? cause.message : String(cause),
    fix: [
      "Start an engine, or point DOCKER_HOST at one:",
      "  Debian/Ubuntu:  sudo apt-get install docker.io && sudo systemctl start docker",
      "                  (no systemd: sudo dockerd >/var/log/dockerd.log 2>&1 &)",
      "  Podman:         systemctl --user start podman.socket",
      "                  export DOCKER_HOST=unix://$XDG_RUNTIME_DIR/podman/podman.sock",
      "  Remote engine:  export DOCKER_HOST=tcp://host:2376 (with DOCKER_TLS_VERIFY/DOCKER_CERT_PATH)",
    ].join("\n"),
  });
}

export function isConnectionError(e: unknown): boolean {
  const code = (e as { code?: string } | undefined)?.code;
  return (
    code === "ECONNREFUSED" ||
    code === "ENOENT" ||
    code === "EACCES" ||
    code === "ECONNRESET" ||
    code === "EPIPE" ||
    code === "ETIMEDOUT" ||
    code === "EHOSTUNREACH"
  );
}

export function dockerClient(choice: EndpointChoice, env: NodeJS.ProcessEnv = process.env): Docker {
  return engineConnection(choice, env).docker;
}

export interface EngineConnection {
  docker: Docker;
  /** For an ssh:// engine whose forward could not start: ssh's own reason (ssh-tunnel.ts). */
  failure: () => OcboxError | undefined;
  /** After a refused connection: true when a dead ssh forward was started again (retry then). */
  revive: () => Promise<boolean>;
}

/** dockerode for `choice`; an ssh:// endpoint goes through a forwarding `ssh` of this machine. */
export function engineConnection(
  choice: EndpointChoice,
  env: NodeJS.ProcessEnv = process.env,
): EngineConnection {
  if (!choice.ssh)
    return {
      docker: new Docker(choice.options),
      failure: () => undefined,
      revive: () => Promise.resolve(false),
    };
  const tunnel = sshTunnel(choice.ssh, env);
  // docker-modem takes a function returning a promise of the socket path; its types say string only.
  const socketPath = (() => tunnel.socket()) as unknown as string;
  // docker-modem starts from DOCKER_HOST's host and protocol (ssh): both cleared, or it would
  // dial by itself and ignore the socket.
  const cleared = { host: undefined, port: undefined, protocol: "http" } as unknown as Docker.DockerOptions;
  const docker = new Docker({ ...cleared, socketPath });
  askPerRequest(docker.modem as unknown as SocketPathAsker, () => tunnel.socket());
  return { docker, failure: tunnel.failure, revive: () => tunnel.revive() };
}

/** The part of docker-modem 5's Modem that picks the socket of each request (modem.js). */
interface SocketPathAsker {
  getSocketPath: () => Promise<string> | undefined;
  socketPathCache?: unknown;
}

/**
 * docker-modem keeps the first answer of a socketPath function for the client's life
 * (getSocketPath's socketPathCache): a forward that died and was started again would never be
 * asked for. Asked on every request instead, so the next engine call after a dead forward starts
 * it again (ssh-tunnel.ts; a live forward answers from its settled promise). Checked against the
 * pinned version by test/unit/ssh-tunnel.test.ts.
 */
export function askPerRequest(modem: SocketPathAsker, socket: () => Promise<string>): void {
  if (typeof modem.getSocketPath !== "function")
    throw new OcboxError(
      "UNEXPECTED",
      "docker-modem has no getSocketPath: the ssh forward cannot be restarted",
      {
        fix: "Reinstall ocbox's dependencies with `npm ci` (docker-modem is pinned through dockerode).",
      },
    );
  modem.getSocketPath = socket;
}
