/**
 * Where else an engine may be, after DOCKER_HOST and the system sockets: the Docker CLI's
 * current context (`docker context use`: ~/.docker/config.json's currentContext, or
 * DOCKER_CONTEXT, with its endpoint in ~/.docker/contexts/meta/<sha256 of the name>/meta.json and
 * its TLS files in ~/.docker/contexts/tls/<same>/docker/), and the per-user sockets of Docker
 * Desktop, Colima, Rancher Desktop and Podman machines. Pure apart from the file reads it is handed.
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { OcboxError } from "../errors.js";

export interface DiscoveryFs {
  exists(path: string): boolean;
  /** The file's text, or undefined when it cannot be read. */
  read(path: string): string | undefined;
}

export interface ContextEndpoint {
  name: string;
  /** As the context's meta.json says: unix:///…, tcp://host:port, ssh://user@host. */
  host: string;
  /** The context's TLS dir (ca.pem, cert.pem, key.pem), when it has one. */
  tlsDir?: string;
  skipTlsVerify: boolean;
}

function dockerConfigDir(env: NodeJS.ProcessEnv): string | undefined {
  if (env.DOCKER_CONFIG) return env.DOCKER_CONFIG;
  return env.HOME ? join(env.HOME, ".docker") : undefined;
}

function parseJson(text: string | undefined, file: string): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new OcboxError("ENGINE_UNAVAILABLE", `${file} is not valid JSON`, {
      detail: e instanceof Error ? e.message : String(e),
      fix: "Fix the file (or run `docker context use default`), or set DOCKER_HOST.",
    });
  }
}

/** The current context's endpoint; undefined for "default" or none. Throws for a broken context. */
export function currentContext(env: NodeJS.ProcessEnv, fs: DiscoveryFs): ContextEndpoint | undefined {
  const dir = dockerConfigDir(env);
  if (!dir) return undefined;
  const configFile = join(dir, "config.json");
  const config = parseJson(fs.read(configFile), configFile) as { currentContext?: unknown } | undefined;
  const name =
    env.DOCKER_CONTEXT?.trim() || (typeof config?.currentContext === "string" ? config.currentContext : "");
  if (!name || name === "default") return undefined;
  const id = createHash("sha256").update(name).digest("hex");
  const metaFile = join(dir, "contexts", "meta", id, "meta.json");
  const meta = parseJson(fs.read(metaFile), metaFile) as
    { Endpoints?: { docker?: { Host?: unknown; SkipTLSVerify?: unknown } } } | undefined;
  const host = meta?.Endpoints?.docker?.Host;
  if (typeof host !== "string" || host === "") {
    throw new OcboxError("ENGINE_UNAVAILABLE", `the Docker context "${name}" has no engine endpoint`, {
      detail: `looked in ${metaFile}`,
      fix: "Run `docker context ls` and `docker context use` a working one, or set DOCKER_HOST.",
    });
  }
  const tlsDir = join(dir, "contexts", "tls", id, "docker");
  return {
    name,
    host,
    ...(fs.exists(join(tlsDir, "ca.pem")) || fs.exists(join(tlsDir, "cert.pem")) ? { tlsDir } : {}),
    skipTlsVerify: meta?.Endpoints?.docker?.SkipTLSVerify === true,
  };
}

/**
 * Per-user engine sockets, in the order tried: Docker Desktop, Colima (its default profile, old
 * and new homes), Rancher Desktop, then Podman machines (macOS and Linux). Pure.
 */
export function userSocketCandidates(env: NodeJS.ProcessEnv): Array<{ path: string; what: string }> {
  const home = env.HOME;
  if (!home) return [];
  const colima = env.COLIMA_HOME ?? join(home, ".colima");
  const share = env.XDG_DATA_HOME ?? join(home, ".local", "share");
  return [
    { path: join(home, ".docker", "run", "docker.sock"), what: "Docker Desktop" },
    { path: join(home, ".docker", "desktop", "docker.sock"), what: "Docker Desktop" },
    { path: join(colima, "default", "docker.sock"), what: "Colima" },
    { path: join(home, ".config", "colima", "default", "docker.sock"), what: "Colima" },
    { path: join(home, ".rd", "docker.sock"), what: "Rancher Desktop" },
    { path: join(share, "containers", "podman", "machine", "podman.sock"), what: "Podman machine" },
    { path: join(share, "containers", "podman", "machine", "qemu", "podman.sock"), what: "Podman machine" },
    {
      path: join(share, "containers", "podman", "machine", "applehv", "podman.sock"),
      what: "Podman machine",
    },
    ...(env.TMPDIR
      ? [{ path: join(env.TMPDIR, "podman", "podman-machine-default-api.sock"), what: "Podman machine" }]
      : []),
  ];
}
