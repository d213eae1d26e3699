import { existsSync } from "node:fs";
import Docker from "dockerode";
import { OcboxError } from "../errors.js";

export interface EndpointChoice {
  /** What the user would write in DOCKER_HOST. */
  endpoint: string;
  options: Docker.DockerOptions | undefined;
  source: "DOCKER_HOST" | "docker socket" | "podman socket" | "default";
}

/**
 * Where the engine is, tried in order: DOCKER_HOST, the Docker socket, Podman's rootless and
 * rootful sockets. Pure apart from the existence checks it is handed.
 */
export function chooseEndpoint(
  env: NodeJS.ProcessEnv,
  exists: (path: string) => boolean = existsSync,
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
  const candidates: Array<[string, EndpointChoice["source"]]> = [["/var/run/docker.sock", "docker socket"]];
  if (env.XDG_RUNTIME_DIR) candidates.push([`${env.XDG_RUNTIME_DIR}/podman/podman.sock`, "podman socket"]);
  candidates.push(["/run/podman/podman.sock", "podman socket"]);
  for (const [socketPath, source] of candidates) {
    if (exists(socketPath)) return { endpoint: `unix://${socketPath}`, options: { socketPath }, source };
  }
  return {
    endpoint: "unix:///var/run/docker.sock",
    options: { socketPath: "/var/run/docker.sock" },
    source: "default",
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
