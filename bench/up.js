// `ocbox up --detach` (warm image) to UI-ready, and the memory of an idle project sandbox
// (agent + egress sidecar, from the engine's stats). Runs the built CLI as a person would.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { authorization } from "../dist/opencode/client.js";
import { DockerEngine } from "../dist/runtime/docker-engine.js";
import { fmt, ratios, summary } from "./lib.js";

const CLI = join(import.meta.dirname, "..", "dist", "cli", "main.js");

/** A bare `opencode serve` on the host, from the spawn to its first healthy answer. */
async function bareServeReady(bare, dir) {
  const t = performance.now();
  const server = await bare.serve(dir);
  try {
    for (;;) {
      const res = await fetch(`http://127.0.0.1:${server.port}/global/health`, {
        signal: AbortSignal.timeout(1000),
      }).catch(() => undefined);
      if (res?.ok) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    return (performance.now() - t) / 1000;
  } finally {
    server.stop();
  }
}

export async function benchUp({ runs = 5, idleS = 15, bare } = {}) {
  const home = mkdtempSync(join(tmpdir(), "ocbox-bench-up-"));
  const root = join(home, "project");
  mkdirSync(root);
  const env = {
    ...process.env,
    XDG_STATE_HOME: join(home, "state"),
    XDG_DATA_HOME: join(home, "data"),
    NO_COLOR: "1",
  };
  const ocbox = (...args) => {
    const r = spawnSync(process.execPath, [CLI, ...args], { cwd: root, env, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`ocbox ${args.join(" ")} failed: ${r.stderr}`);
    return r.stdout;
  };
  const engine = new DockerEngine();
  try {
    ocbox("init", "--yes");
    ocbox("up", "--detach"); // warm: images built, state created
    ocbox("down");
    const ready = [];
    const bareReady = [];
    let memory;
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      const up = JSON.parse(ocbox("up", "--detach", "--json"));
      const password = readFileSync(join(up.stateDir, "password"), "utf8").trim();
      // UI-ready: the web UI's page answers through the server.
      for (;;) {
        const res = await fetch(`${up.url}/`, { headers: { Authorization: authorization(password) } }).catch(
          () => undefined,
        );
        if (res?.ok) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      ready.push((performance.now() - t) / 1000);
      if (i === runs - 1) {
        await new Promise((r) => setTimeout(r, idleS * 1000));
        const status = JSON.parse(ocbox("status", "--json"));
        const ids = status.sandbox.containerIds;
        const bytes = await Promise.all(ids.map((id) => engine.memoryUsage(id)));
        memory = {
          totalMiB: bytes.reduce((a, b) => a + (b ?? 0), 0) / 2 ** 20,
          perContainerMiB: bytes.map((b) => (b ?? 0) / 2 ** 20),
          idleS,
        };
      }
      ocbox("down");
      if (bare) bareReady.push(await bareServeReady(bare, root));
    }
    const result = { upToUiReady: summary(ready), idleMemory: memory };
    console.log(`ocbox up --detach to UI-ready (warm): ${fmt(result.upToUiReady)}`);
    if (bare) {
      result.bareServeToHealthy = summary(bareReady);
      result.ratioToBareServe = ratios(ready, bareReady);
      console.log(
        `bare opencode serve to healthy: ${fmt(result.bareServeToHealthy)}; ratio median ${result.ratioToBareServe.median.toFixed(2)}`,
      );
    }
    console.log(
      `idle sandbox memory after ${idleS} s: ${memory.totalMiB.toFixed(0)} MiB (agent + sidecar: ${memory.perContainerMiB.map((m) => m.toFixed(0)).join(" + ")})`,
    );
    return result;
  } finally {
    spawnSync(process.execPath, [CLI, "down"], { cwd: root, env });
    rmSync(home, { recursive: true, force: true });
  }
}
