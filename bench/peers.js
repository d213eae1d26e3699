// The baselines ocbox is compared with, run the way their users run them:
// - bare: the host's own `opencode run` (the pinned binary from node_modules), offline, with a
//   throwaway HOME/XDG so the user's real config and data are never touched;
// - docker-run: `docker run --rm … opencode run` once per call (seed document 001);
// - docker-serve: `docker run -d … opencode serve`, polled for readiness, one prompt over HTTP,
//   then `docker rm -f` (seed document 000).
// The two peer patterns use ocbox's own sandbox image (the same opencode binary and the same
// prebaked offline config dir) and reach the scripted model on the host's loopback through
// `--network host`, which is how a peer's shell script reaches a model on the host. They use the
// docker CLI because that is what the peers' scripts do; ocbox itself never does.
import { spawn, spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findOpencodeBinary } from "../dist/image/opencode-binary.js";
import { stageOpencodeConfig } from "../dist/image/opencode-config.js";
import { authorization } from "../dist/opencode/server-handle.js";
import { freePort } from "../dist/util/free-port.js";

export const OFFLINE_ENV = {
  OPENCODE_DISABLE_MODELS_FETCH: "1",
  OPENCODE_DISABLE_AUTOUPDATE: "1",
  OPENCODE_DISABLE_SHARE: "1",
  OPENCODE_DISABLE_LSP_DOWNLOAD: "1",
};

/** Run a command to its end; resolve with code, stdout, stderr. */
export function runProcess(cmd, args, options = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], ...options });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

export function newWorkspace(prefix = "ws-") {
  // One parent for all of them, as a user's projects sit under one home: the engine path probe
  // (cached by a path's first two components) runs once per run, not once per cold sample.
  const parent = join(tmpdir(), "ocbox-bench-ws");
  mkdirSync(parent, { recursive: true });
  const ws = mkdtempSync(join(parent, prefix));
  writeFileSync(join(ws, "README.md"), "a benchmark workspace\n");
  return ws;
}

/**
 * The host's bare OpenCode: a private HOME with the offline config dir (the same prebaked plugin
 * packages the image carries) and `OPENCODE_CONFIG` pointing at the scripted provider.
 */
export async function bareOpencode(opencodeConfig) {
  const binary = findOpencodeBinary(process.arch === "arm64" ? "arm64" : "x64").path;
  const home = mkdtempSync(join(tmpdir(), "ocbox-bench-bare-"));
  const config = join(home, ".config");
  mkdirSync(config, { recursive: true });
  cpSync(await stageOpencodeConfig(), join(config, "opencode"), { recursive: true });
  const configFile = join(home, "opencode.json");
  writeFileSync(configFile, JSON.stringify(opencodeConfig, null, 2));
  const env = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: home,
    XDG_CONFIG_HOME: config,
    XDG_DATA_HOME: join(home, ".local", "share"),
    XDG_CACHE_HOME: join(home, ".cache"),
    XDG_STATE_HOME: join(home, ".local", "state"),
    OPENCODE_CONFIG: configFile,
    ...OFFLINE_ENV,
  };
  return {
    binary,
    home,
    env,
    /** `opencode run PROMPT </dev/null` in `workspace`; resolves with the answer's text. */
    async run(prompt, workspace) {
      const r = await runProcess(binary, ["run", "--model", "scripted/scripted", prompt], {
        cwd: workspace,
        env,
      });
      if (r.code !== 0) throw new Error(`bare opencode run failed (${r.code}): ${r.stderr.slice(-800)}`);
      return r.stdout;
    },
    /** `opencode serve` on a free port, resolved once it prints its listening line. */
    async serve(workspace) {
      const port = await freePort();
      const child = spawn(binary, ["serve", "--hostname", "127.0.0.1", "--port", String(port)], {
        cwd: workspace,
        env,
        stdio: ["ignore", "pipe", "pipe"],
      });
      await new Promise((resolve, reject) => {
        const onData = (d) => {
          if (/opencode server listening on/.test(String(d))) resolve();
        };
        child.stdout.on("data", onData);
        child.stderr.on("data", onData);
        child.on("exit", (code) => reject(new Error(`bare opencode serve exited (${code})`)));
      });
      return { child, port, stop: () => child.kill("SIGTERM") };
    },
    close() {
      // A bare run still exiting (after another task of its batch failed) may write here a moment longer.
      rmSync(home, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
    },
  };
}

/** Peer patterns over the docker CLI with ocbox's sandbox image. */
export function dockerPeers(image, opencodeConfig) {
  const cfgDir = mkdtempSync(join(tmpdir(), "ocbox-bench-peer-"));
  writeFileSync(join(cfgDir, "opencode.json"), JSON.stringify(opencodeConfig, null, 2));
  const common = (workspace) => [
    "--network",
    "host",
    // Peers run as root in their image (seed 000 mounts /root/...); the workspace is root's here.
    "--user",
    "0:0",
    "-v",
    `${workspace}:/workspace`,
    "-w",
    "/workspace",
    "-v",
    `${cfgDir}:/cfg:ro`,
    "-e",
    "OPENCODE_CONFIG=/cfg/opencode.json",
    "--label",
    "ocbox-bench=peer",
    "--entrypoint",
    "/usr/local/bin/opencode",
  ];
  const containers = new Set();
  return {
    /** `docker run --rm … opencode run PROMPT`: resolves with the answer's text. */
    async run(prompt, workspace) {
      const r = await runProcess("docker", [
        "run",
        "--rm",
        "-i=false",
        ...common(workspace),
        image,
        "run",
        "--model",
        "scripted/scripted",
        prompt,
      ]);
      if (r.code !== 0)
        throw new Error(`docker run … opencode run failed (${r.code}): ${r.stderr.slice(-800)}`);
      return r.stdout;
    },
    /** Start `opencode serve` detached; resolves with its id and port once the start call returns. */
    async start(workspace, extra = []) {
      const port = await freePort();
      const r = await runProcess("docker", [
        "run",
        "-d",
        ...extra,
        ...common(workspace),
        "-e",
        "OPENCODE_SERVER_PASSWORD=bench",
        image,
        "serve",
        "--hostname",
        "127.0.0.1",
        "--port",
        String(port),
      ]);
      if (r.code !== 0) throw new Error(`docker run … opencode serve failed: ${r.stderr.slice(-800)}`);
      const id = r.stdout.trim();
      containers.add(id);
      return { id, port, url: `http://127.0.0.1:${port}` };
    },
    /** The serve pattern, end to end: start, poll health, one session and prompt, remove. */
    async serveTask(prompt, workspace, { pollMs = 250 } = {}) {
      const server = await this.start(workspace);
      try {
        const headers = { Authorization: authorization("bench"), "content-type": "application/json" };
        for (;;) {
          // A short per-request timeout: an early connection can hang forever (OPENCODE-NOTES).
          const res = await fetch(`${server.url}/global/health`, {
            headers,
            signal: AbortSignal.timeout(1000),
          }).catch(() => undefined);
          if (res?.ok) break;
          await new Promise((r) => setTimeout(r, pollMs));
        }
        const session = await (
          await fetch(`${server.url}/session`, { method: "POST", headers, body: "{}" })
        ).json();
        const res = await fetch(`${server.url}/session/${session.id}/message`, {
          method: "POST",
          headers,
          body: JSON.stringify({
            model: { providerID: "scripted", modelID: "scripted" },
            parts: [{ type: "text", text: prompt }],
          }),
        });
        const reply = await res.json();
        return (reply.parts ?? [])
          .filter((p) => p.type === "text")
          .map((p) => p.text)
          .join("");
      } finally {
        await this.remove(server.id);
      }
    },
    async remove(id) {
      await runProcess("docker", ["rm", "-f", "-v", id]);
      containers.delete(id);
    },
    close() {
      for (const id of containers) spawnSync("docker", ["rm", "-f", "-v", id]);
      rmSync(cfgDir, { recursive: true, force: true });
    },
  };
}
