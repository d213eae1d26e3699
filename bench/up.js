// `ocbox up --detach` (warm image) to UI-ready, and the memory of an idle project sandbox
// (agent + egress sidecar, from the engine's stats). Runs the built CLI as a person would. CPU
// to ready, paired: the CLI's rusage plus the sandbox containers' cgroups against bare's own.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { authorization } from "../dist/opencode/server-handle.js";
import { DockerEngine } from "../dist/runtime/docker-engine.js";
import { dataVolumeName } from "../dist/sandbox/data-volume-name.js";
import { childCpuS, cgroupCpuS, processCpuS } from "./cpu.js";
import { fmt, ratios, summary } from "./lib.js";
import { captureFloorPlan, removeFloor } from "./up-floor.js";

const CLI = join(import.meta.dirname, "..", "dist", "bin", "ocbox.js");
const FLOOR = join(import.meta.dirname, "up-floor.js");

/** A bare `opencode serve` on the host, from the spawn to its first healthy answer (wall and its CPU). */
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
    return { seconds: (performance.now() - t) / 1000, cpuS: processCpuS(server.child.pid) };
  } finally {
    server.stop();
  }
}

/** Until the web UI's page answers through the server at `url` (polled every 50 ms, as for `up`). */
async function uiReady(url, password) {
  for (;;) {
    const res = await fetch(`${url}/`, { headers: { Authorization: authorization(password) } }).catch(
      () => undefined,
    );
    if (res?.ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * The floor (bench/up-floor.js): a fresh Node process replays the sandbox's engine calls and
 * waits for the listening line; then until the UI answers, as for `up`. Its sandbox is removed after.
 */
async function floorReady(planFile, password) {
  const t = performance.now();
  const r = spawnSync(process.execPath, [FLOOR, planFile], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`the up floor's replay failed: ${r.stderr}`);
  const made = JSON.parse(r.stdout);
  try {
    await uiReady(`http://127.0.0.1:${made.port}`, password);
    return (performance.now() - t) / 1000;
  } finally {
    await removeFloor(made);
  }
}

/**
 * The seed scripts' own pattern (seed 000): `docker run -d … opencode serve` on the host's network
 * with ocbox's image, from the call to its first healthy answer, then `docker rm -f`. One container,
 * no proxy, no isolation of its network: what starting a containerised OpenCode server costs here.
 */
async function dockerServeReady(peers, dir) {
  const t = performance.now();
  const server = await peers.start(dir);
  try {
    for (;;) {
      const res = await fetch(`${server.url}/global/health`, {
        headers: { Authorization: authorization("bench") },
        signal: AbortSignal.timeout(1000),
      }).catch(() => undefined);
      if (res?.ok) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    return (performance.now() - t) / 1000;
  } finally {
    await peers.remove(server.id);
  }
}

export async function benchUp({ runs = 5, idleS = 15, bare, peers } = {}) {
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
    // Warm: images built, state created; the floor's plan copied from this sandbox.
    const warm = JSON.parse(ocbox("up", "--detach", "--json"));
    const parts = await engine.listContainers([`dev.ocbox.sandbox=${warm.sandboxId}`], false);
    const idOf = (role) => parts.find((c) => c.labels["dev.ocbox.role"] === role)?.id;
    const floorPlan = join(home, "floor-plan.json");
    writeFileSync(
      floorPlan,
      JSON.stringify(
        await captureFloorPlan({
          agentId: idOf("agent"),
          egressId: idOf("egress"),
          dataVolume: dataVolumeName(warm.sandboxId),
        }),
      ),
    );
    ocbox("down");
    const floor = [];
    const ready = [];
    const readyCpu = [];
    const bareReady = [];
    const bareCpu = [];
    const peerReady = [];
    let memory;
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      const cli0 = childCpuS();
      const up = JSON.parse(ocbox("up", "--detach", "--json"));
      const cliCpuS = childCpuS() - cli0;
      const password = readFileSync(join(up.stateDir, "password"), "utf8").trim();
      // UI-ready: the web UI's page answers through the server.
      await uiReady(up.url, password);
      ready.push((performance.now() - t) / 1000);
      // CPU to UI-ready: the CLI process (its rusage) plus the sandbox's containers (their cgroups).
      const mine = await engine.listContainers([`dev.ocbox.sandbox=${up.sandboxId}`], true);
      const containers = mine.map((c) => ({ role: c.labels["dev.ocbox.role"], cpuS: cgroupCpuS(c.id) ?? 0 }));
      readyCpu.push({
        cliS: cliCpuS,
        containers,
        totalS: cliCpuS + containers.reduce((a, c) => a + c.cpuS, 0),
      });
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
      if (bare) {
        const b = await bareServeReady(bare, root);
        bareReady.push(b.seconds);
        bareCpu.push(b.cpuS);
      }
      if (peers) peerReady.push(await dockerServeReady(peers, root));
      floor.push(await floorReady(floorPlan, readFileSync(join(warm.stateDir, "password"), "utf8").trim()));
    }
    const result = {
      upToUiReady: summary(ready),
      upCpuS: summary(readyCpu.map((c) => c.totalS)),
      upCpuParts: readyCpu,
      idleMemory: memory,
    };
    console.log(
      `ocbox up --detach to UI-ready (warm): ${fmt(result.upToUiReady)}; CPU ${fmt(result.upCpuS)} (${JSON.stringify(readyCpu.map((c) => [c.cliS, ...c.containers.map((x) => `${x.role} ${x.cpuS.toFixed(2)}`)]))})`,
    );
    if (peers) {
      result.dockerServeToHealthy = summary(peerReady);
      result.ratioToDockerServe = ratios(ready, peerReady);
      console.log(
        `docker run -d … opencode serve to healthy: ${fmt(result.dockerServeToHealthy)}; up's ratio to it median ${result.ratioToDockerServe.median.toFixed(2)} (${result.ratioToDockerServe.min.toFixed(2)}–${result.ratioToDockerServe.max.toFixed(2)})`,
      );
    }
    result.floorToUiReady = summary(floor);
    result.ratioToFloor = ratios(ready, floor);
    console.log(
      `floor (the same containers replayed by a bare engine client) to UI-ready: ${fmt(result.floorToUiReady)}; up's ratio to it median ${result.ratioToFloor.median.toFixed(2)} (${result.ratioToFloor.min.toFixed(2)}–${result.ratioToFloor.max.toFixed(2)})`,
    );
    if (bare) {
      result.floorRatioToBareServe = ratios(floor, bareReady);
      console.log(
        `floor's ratio to bare opencode serve: median ${result.floorRatioToBareServe.median.toFixed(2)} (${result.floorRatioToBareServe.min.toFixed(2)}–${result.floorRatioToBareServe.max.toFixed(2)})`,
      );
      result.bareServeToHealthy = summary(bareReady);
      result.bareServeCpuS = summary(bareCpu);
      result.ratioToBareServe = ratios(ready, bareReady);
      result.cpuRatioToBareServe = ratios(
        readyCpu.map((c) => c.totalS),
        bareCpu,
      );
      console.log(
        `bare opencode serve to healthy: ${fmt(result.bareServeToHealthy)}, CPU ${fmt(result.bareServeCpuS)}; ratio median ${result.ratioToBareServe.median.toFixed(2)} (${result.ratioToBareServe.min.toFixed(2)}–${result.ratioToBareServe.max.toFixed(2)}), CPU ratio median ${result.cpuRatioToBareServe.median.toFixed(2)} (${result.cpuRatioToBareServe.min.toFixed(2)}–${result.cpuRatioToBareServe.max.toFixed(2)})`,
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
