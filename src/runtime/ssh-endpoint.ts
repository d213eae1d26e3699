/**
 * An engine behind `DOCKER_HOST=ssh://user@host[:port][/socket]` (or a Docker context with an
 * ssh endpoint). Pure: what the URL says, and the `ssh` command that forwards the engine's socket
 * to a socket of this machine (ssh-tunnel.ts runs it).
 *
 * Why the system's `ssh` and not dockerode's own ssh support: docker-modem 5.0.7 (under
 * dockerode 5.0.1) opens a new ssh2 connection for every API call (a handshake per request,
 * two per exec stream), reads neither ~/.ssh/config nor the default keys, and checks no host
 * key at all (ssh2 accepts any key when no verifier is given): a man in the middle would get the
 * engine, that is root on its host. OpenSSH checks known_hosts, reads the user's config, keys and
 * agent, and one connection carries every request as its own channel (`-L` to a Unix socket, as
 * `podman --remote` does), so requests and exec streams cost what they cost on a local socket.
 */
import { OcboxError } from "../errors.js";

export interface SshEndpoint {
  /** The URL as given, for messages and cache keys. */
  url: string;
  user: string | undefined;
  host: string;
  port: number | undefined;
  /** The engine's socket on the remote host: the URL's path, else Docker's. */
  remoteSocket: string;
}

/** The socket a path-less ssh:// URL means (Docker's; Podman's is given as the URL's path). */
export const DEFAULT_REMOTE_SOCKET = "/var/run/docker.sock";

/** The environment variable naming an ssh_config file for ocbox's `ssh` (its `-F`). */
export const SSH_CONFIG_ENV = "OCBOX_SSH_CONFIG";

const badUrl = (url: string, why: string) =>
  new OcboxError("ENGINE_UNAVAILABLE", `DOCKER_HOST=${url} is not an ssh endpoint ocbox can use: ${why}`, {
    fix: "Write it as ssh://USER@HOST[:PORT][/path/to/engine.sock], e.g. ssh://me@build-box or ssh://me@box:2222/run/podman/podman.sock.",
  });

/** The parts of an ssh:// URL; throws a clear error for one that is not. Pure. */
export function parseSshEndpoint(url: string): SshEndpoint {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw badUrl(url, "not a URL");
  }
  if (parsed.protocol !== "ssh:") throw badUrl(url, "not ssh://");
  if (!parsed.hostname) throw badUrl(url, "no host");
  if (parsed.password) throw badUrl(url, "a password in the URL (use a key or ssh-agent)");
  if (parsed.search || parsed.hash) throw badUrl(url, "a query or fragment");
  const path = decodeURIComponent(parsed.pathname);
  if (path !== "" && path !== "/" && !/^\/[A-Za-z0-9._/-]+$/.test(path))
    throw badUrl(url, `the path ${path}`);
  return {
    url,
    user: parsed.username ? decodeURIComponent(parsed.username) : undefined,
    host: parsed.hostname.replace(/^\[|\]$/g, ""),
    port: parsed.port ? Number(parsed.port) : undefined,
    remoteSocket: path === "" || path === "/" ? DEFAULT_REMOTE_SOCKET : path,
  };
}

/**
 * The argv of the forwarding `ssh`: no prompts (BatchMode: a key or an agent, and a known host
 * key), no remote command, the forward or nothing (ExitOnForwardFailure), keep-alives so a dead
 * link ends it. `configFile` is OCBOX_SSH_CONFIG's file, when set. Pure.
 */
export function tunnelArgv(ep: SshEndpoint, localSocket: string, configFile: string | undefined): string[] {
  return [
    ...(configFile ? ["-F", configFile] : []),
    "-N",
    "-T",
    "-o",
    "BatchMode=yes",
    "-o",
    "ExitOnForwardFailure=yes",
    "-o",
    "ServerAliveInterval=15",
    "-o",
    "ServerAliveCountMax=3",
    "-o",
    "ConnectTimeout=20",
    "-o",
    "StreamLocalBindMask=0177",
    "-L",
    `${localSocket}:${ep.remoteSocket}`,
    ...(ep.port ? ["-p", String(ep.port)] : []),
    ...(ep.user ? ["-l", ep.user] : []),
    "--",
    ep.host,
  ];
}

/** The error for an `ssh` that ended before its forward was up, from its last stderr lines. Pure. */
export function tunnelFailure(ep: SshEndpoint, stderr: string, exitCode: number | null): OcboxError {
  const text = stderr.trim();
  const hostKey = /Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED/.test(text);
  const auth = /Permission denied/.test(text);
  const forward = /forwarding|open failed|connect failed/i.test(text);
  if (exitCode === 127) {
    return new OcboxError(
      "ENGINE_UNAVAILABLE",
      `DOCKER_HOST=${ep.url} needs OpenSSH's ssh, which is not installed`,
      {
        detail: text || "sh: ssh: not found",
        fix: "Install the ssh client (Debian: apt-get install openssh-client; macOS has it).",
      },
    );
  }
  const fix = hostKey
    ? `ocbox checks the host key: add it to known_hosts first (\`ssh ${ep.port ? `-p ${ep.port} ` : ""}${ep.user ? `${ep.user}@` : ""}${ep.host} true\` once, checking the fingerprint).`
    : auth
      ? "ocbox's ssh never prompts: load the key into ssh-agent (ssh-add) or name it in ~/.ssh/config (IdentityFile), or in the file OCBOX_SSH_CONFIG names."
      : forward
        ? `The engine's socket ${ep.remoteSocket} could not be forwarded: check that it exists on ${ep.host}, that ${ep.user ?? "the user"} may use it (the docker group), and that sshd allows AllowStreamLocalForwarding; give Podman's socket as the URL's path.`
        : `Check that \`ssh ${ep.port ? `-p ${ep.port} ` : ""}${ep.user ? `${ep.user}@` : ""}${ep.host} true\` works without a prompt.`;
  return new OcboxError(
    "ENGINE_UNAVAILABLE",
    `ssh to the engine at ${ep.url} failed (exit ${exitCode ?? "?"})`,
    {
      detail: text.split("\n").slice(-8).join("\n") || "ssh printed nothing",
      fix,
    },
  );
}
