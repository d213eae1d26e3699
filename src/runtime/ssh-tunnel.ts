/**
 * The forwarding `ssh` behind an ssh:// engine (ssh-endpoint.ts says why OpenSSH): started on the
 * first request, its local end a socket in a fresh 0700 dir of this machine's temp dir, ended
 * with this process, however it ends: `ssh -N` would outlive a process killed by a signal (it
 * reads no stdin), so it runs under a small sh that ends it when its stdin, a pipe from this
 * process, reaches EOF (the kernel closes it when this process dies). A forward that dies (killed,
 * the link dropped) is started again by the next request that asks for the socket (connect.ts has
 * docker-modem ask on every request); one that cannot be started fails that request with ssh's own
 * reason (`failure()`). Streams that were open on the dead forward end with it.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { OcboxError } from "../errors.js";
import { SSH_CONFIG_ENV, tunnelArgv, tunnelFailure, type SshEndpoint } from "./ssh-endpoint.js";

const READY_TIMEOUT_MS = 30_000;

/** sh: run ssh with "$@", end it at EOF on stdin, exit with its status. */
// (A background job's stdin is /dev/null in sh: the reader takes the pipe as fd 3.)
const WATCH_SCRIPT = 'exec 3<&0; ssh "$@" </dev/null & p=$!; (read -r _ <&3; kill $p 2>/dev/null) & wait $p';

/** Resolves when something accepts connections on `path`; rejects when `child` ends first. */
async function waitForSocket(path: string, child: ChildProcess, stderr: () => string, ep: SshEndpoint) {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw tunnelFailure(ep, stderr(), child.exitCode);
    if (await answers(path)) return;
    if (Date.now() > deadline) {
      child.kill();
      throw new OcboxError("ENGINE_UNAVAILABLE", `ssh to ${ep.url} did not forward the engine in 30 s`, {
        detail: stderr().trim() || "ssh printed nothing",
        fix: `Check that \`ssh ${ep.user ? `${ep.user}@` : ""}${ep.host} true\` answers quickly without a prompt.`,
      });
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

const noSsh = (ep: SshEndpoint, e: Error) =>
  new OcboxError("ENGINE_UNAVAILABLE", `DOCKER_HOST=${ep.url} needs OpenSSH's ssh, which did not start`, {
    cause: e,
    detail: e.message,
    fix: "Install the ssh client (Debian: apt-get install openssh-client).",
  });

export interface SshTunnel {
  /** The local socket, once the forward is up (started by the first call). */
  socket(): Promise<string>;
  /** Why the forward could not be started, once that is known. */
  failure: () => OcboxError | undefined;
  /**
   * After a refused connection: when nothing answers on the forward's socket (its ssh died and
   * the exit is not seen yet), end it and start it again; true once a new one is up.
   */
  revive(): Promise<boolean>;
  close(): void;
}

/** Whether something accepts a connection on `path` now. */
const answers = (path: string) =>
  new Promise<boolean>((resolve) => {
    const s = connect(path);
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });

/** A lazily started forward for `ep`; `env` gives OCBOX_SSH_CONFIG. */
export function sshTunnel(ep: SshEndpoint, env: NodeJS.ProcessEnv): SshTunnel {
  let dir: string | undefined;
  let child: ChildProcess | undefined;
  let ready: Promise<string> | undefined;
  let failed: OcboxError | undefined;
  const close = () => {
    // EOF ends the ssh; the signal ends the sh.
    child?.stdin?.end();
    child?.kill();
    child = undefined;
    ready = undefined;
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  };
  const start = async (): Promise<string> => {
    dir ??= mkdtempSync(join(tmpdir(), "ocbox-ssh-"));
    const local = join(dir, "engine.sock");
    rmSync(local, { force: true });
    let stderr = "";
    const argv = tunnelArgv(ep, local, env[SSH_CONFIG_ENV] || undefined);
    const proc = spawn("sh", ["-c", WATCH_SCRIPT, "ocbox-ssh", ...argv], {
      stdio: ["pipe", "ignore", "pipe"],
      env,
    });
    child = proc;
    proc.stderr?.setEncoding("utf8");
    proc.stderr?.on("data", (chunk: string) => (stderr = (stderr + chunk).slice(-4000)));
    const spawnError = new Promise<never>((_, reject) => proc.once("error", (e) => reject(noSsh(ep, e))));
    proc.once("exit", () => {
      proc.stdin?.destroy();
      if (child === proc) ready = undefined;
    });
    proc.stdin?.on("error", () => undefined);
    // The forward never keeps this process alive by itself.
    proc.unref();
    for (const s of [proc.stdin, proc.stderr]) (s as { unref?: () => void } | null)?.unref?.();
    await Promise.race([waitForSocket(local, proc, () => stderr, ep), spawnError]);
    return local;
  };
  process.once("exit", close);
  const socket = () => {
    ready ??= start().then(
      (path) => {
        failed = undefined;
        return path;
      },
      (e: unknown) => {
        failed = e instanceof OcboxError ? e : tunnelFailure(ep, String(e), null);
        // docker-modem does not catch a rejected socket path (it would crash the process): a
        // path where nothing listens fails the request, and the engine reports `failure()`.
        return join(dir ?? tmpdir(), "no-forward.sock");
      },
    );
    return ready;
  };
  const revive = async (): Promise<boolean> => {
    const current = ready;
    if (!current) {
      await socket();
      return failed === undefined;
    }
    const path = await current;
    if (ready !== current) return true; // started again meanwhile
    if (failed || (await answers(path))) return false;
    child?.stdin?.end();
    child?.kill();
    child = undefined;
    ready = undefined;
    await socket();
    return failed === undefined;
  };
  return { socket, failure: () => failed, revive, close };
}
