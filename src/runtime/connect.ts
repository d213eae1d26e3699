import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import "./dockerode-deferred.js";
import Docker from "dockerode";
import { OcboxError } from "../errors.js";
import { currentContext, userSocketCandidates, type ContextEndpoint } from "./engine-discovery.js";

export interface EndpointChoice {
  /** What the user would write in DOCKER_HOST. */
  endpoint: string;
  options: Docker.DockerOptions | undefined;
  source: "DOCKER_HOST" | "docker context" | "docker socket" | "podman socket" | "user socket" | "default";
  /** For a context or a per-user socket: which ("colima", "Docker Desktop"). */
  via?: string;
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
  if (url.protocol === "ssh:") {
    return {
      ...base,
      options: {
        protocol: "ssh",
        host: url.hostname,
        ...(url.port ? { port: Number(url.port) } : {}),
        ...(url.username ? { username: url.username } : {}),
        sshOptions: env.SSH_AUTH_SOCK ? { agent: env.SSH_AUTH_SOCK } : {},
      },
    };
  }
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

export function dockerClient(choice: EndpointChoice): Docker {
  return new Docker(choice.options);
}
