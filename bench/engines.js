// Issue 14: the same two figures on each engine, side by side in one run: `ocbox up --detach` to
// UI-ready (warm image) and one cold `runTask`. Engines: Docker (no DOCKER_HOST: the default
// socket), rootful Podman (OCBOX_BENCH_PODMAN, default unix:///run/podman/podman.sock), and the
// same Docker over ssh when OCBOX_BENCH_SSH names an ssh:// endpoint (`.ci/leg-ssh bench` sets it
// up: an sshd of its own on 127.0.0.1; the exec transport, as for any engine that is not local). Rounds
// alternate the engines (the order rotated each round) so that the machine's load hits both alike.
// An engine that does not answer is recorded as absent with the reason, not measured.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runTask } from "../dist/executor/prepare.js";
import { Pools } from "../dist/executor/pool.js";
import { ensureImages } from "../dist/image/build.js";
import { authorization } from "../dist/opencode/client.js";
import { DockerEngine } from "../dist/runtime/docker-engine.js";
import { scriptedOpencodeConfig } from "../dist/scripted-model/opencode-config.js";
import { startScriptedModel } from "../dist/scripted-model/server.js";
import { fmt, ratios, summary } from "./lib.js";
import { newWorkspace } from "./peers.js";

const CLI = join(import.meta.dirname, "..", "dist", "cli", "main.js");
const CONTRACT = { outcome: "COMPLETE", summary: "done" };

function engineEnvs() {
  const docker = { ...process.env };
  delete docker.DOCKER_HOST;
  const podman = {
    ...process.env,
    DOCKER_HOST: process.env.OCBOX_BENCH_PODMAN ?? "unix:///run/podman/podman.sock",
  };
  const ssh = process.env.OCBOX_BENCH_SSH
    ? [{ name: "docker-over-ssh", env: { ...process.env, DOCKER_HOST: process.env.OCBOX_BENCH_SSH } }]
    : [];
  return [{ name: "docker", env: docker }, { name: "podman-rootful", env: podman }, ...ssh];
}

/** One engine's harness: its driver, images, a project of its own for `up`, the CLI against it. */
async function prepare({ name, env }, opencodeConfig) {
  const engine = new DockerEngine(env);
  const info = await engine.info().catch((e) => ({ absent: e instanceof Error ? e.message : String(e) }));
  if ("absent" in info) return { name, absent: info.absent };
  const images = await ensureImages(engine);
  const home = mkdtempSync(join(tmpdir(), `ocbox-bench-engines-${name}-`));
  const root = join(home, "project");
  mkdirSync(root);
  const cliEnv = {
    ...env,
    XDG_STATE_HOME: join(home, "state"),
    XDG_DATA_HOME: join(home, "data"),
    NO_COLOR: "1",
  };
  const ocbox = (...args) => {
    const r = spawnSync(process.execPath, [CLI, ...args], { cwd: root, env: cliEnv, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`${name}: ocbox ${args.join(" ")} failed: ${r.stderr}`);
    return r.stdout;
  };
  ocbox("init", "--yes");
  ocbox("up", "--detach"); // warm-up: state created, not counted
  ocbox("down");
  const options = (workspace) => ({
    workspace,
    prompt: "Reply with the word done.",
    model: "scripted/scripted",
    opencodeConfig,
    engine,
    images,
    pools: new Pools(),
  });
  const close = () => {
    spawnSync(process.execPath, [CLI, "down"], { cwd: root, env: cliEnv });
    rmSync(home, { recursive: true, force: true });
  };
  return { name, version: `${info.flavour} ${info.version}`, ocbox, options, close, up: [], cold: [] };
}

async function upSample(e) {
  const t = performance.now();
  const up = JSON.parse(e.ocbox("up", "--detach", "--json"));
  try {
    // Exec relays: no URL of this machine to poll; `up` returned once the server answered its
    // health route over them (the detached relay, if any, started too).
    if (up.transport === "exec") return (performance.now() - t) / 1000;
    const password = readFileSync(join(up.stateDir, "password"), "utf8").trim();
    for (;;) {
      const res = await fetch(`${up.url}/`, {
        headers: { Authorization: authorization(password) },
        signal: AbortSignal.timeout(2000),
      }).catch(() => undefined);
      if (res?.ok) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    return (performance.now() - t) / 1000;
  } finally {
    e.ocbox("down");
  }
}

/** A sample that has not finished in `s` seconds breaks the bench, naming the engine. */
function within(s, what, promise) {
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer in ${s} s`)), s * 1000);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

async function coldSample(e, model) {
  model.setScenario({ turns: [{ structured: CONTRACT }] });
  const ws = newWorkspace();
  const t = performance.now();
  try {
    const result = await within(300, `${e.name} cold runTask`, runTask(e.options(ws)));
    if (result.outcome !== "COMPLETE")
      throw new Error(`${e.name} cold: ${result.outcome} ${result.failureReason}`);
    return (performance.now() - t) / 1000;
  } finally {
    rmSync(ws, { recursive: true, force: true });
  }
}

export async function benchEngines({ runs = 5 } = {}) {
  const model = await startScriptedModel({ scenario: { turns: [] } });
  const all = [];
  try {
    for (const spec of engineEnvs()) all.push(await prepare(spec, scriptedOpencodeConfig(model.url)));
    const present = all.filter((e) => !e.absent);
    for (const e of present) await coldSample(e, model); // warm-up, not counted
    console.log(`warm-up done on ${present.map((e) => e.name).join(", ")}`);
    for (let i = 0; i < runs; i++) {
      const order = present.map((_, j) => present[(i + j) % present.length]);
      for (const e of order) e.cold.push(await coldSample(e, model));
      console.log(
        `round ${i + 1}: cold ${order.map((e) => `${e.name} ${e.cold.at(-1).toFixed(2)} s`).join(", ")}`,
      );
      for (const e of order) e.up.push(await within(300, `${e.name} up`, upSample(e)));
      console.log(
        `round ${i + 1}: up ${order.map((e) => `${e.name} ${e.up.at(-1).toFixed(2)} s`).join(", ")}`,
      );
    }
    const docker = present.find((e) => e.name === "docker");
    const out = {};
    for (const e of all) {
      if (e.absent) {
        out[e.name] = { absent: e.absent };
        console.log(`${e.name}: not measured (${e.absent})`);
        continue;
      }
      out[e.name] = {
        version: e.version,
        upToUiReady: summary(e.up),
        coldRunTask: summary(e.cold),
        ...(docker && e !== docker
          ? { upRatioToDocker: ratios(e.up, docker.up), coldRatioToDocker: ratios(e.cold, docker.cold) }
          : {}),
      };
      console.log(`${e.name}: up --detach to UI-ready ${fmt(out[e.name].upToUiReady)}`);
      console.log(`${e.name}: cold runTask ${fmt(out[e.name].coldRunTask)}`);
    }
    return out;
  } finally {
    for (const e of all) e.close?.();
    await model.close();
  }
}
