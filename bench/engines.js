// Issue 14: the same figures on each engine, side by side in one run: `ocbox up --detach` to
// UI-ready (warm image), one cold `runTask`, and copy mode's copy-in and sync-back for a
// 10 000-file, 100 MB project (`up --detach --copy`, then `ocbox sync` after 100 files changed,
// and with none changed; copy mode forced on every engine, so the figures compare). Engines:
// Docker (no DOCKER_HOST: the default socket), rootful Podman (OCBOX_BENCH_PODMAN, default
// unix:///run/podman/podman.sock), the same Docker over ssh when OCBOX_BENCH_SSH names an ssh://
// endpoint (`.ci/leg-ssh bench` sets it up), and the no-shared-files engine: ocbox inside a plain
// container with only the engine's socket, node and the built package (`.ci/leg-noshare`'s
// container; bench/engine-inside.js answers there). Rounds alternate the engines, the order
// rotated each round, so that the machine's load hits all alike; the load average is recorded.
// An engine that does not answer is recorded as absent with the reason, not measured.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, realpathSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { stageOpencodeConfig } from "../dist/image/opencode-config.js";
import { scriptedOpencodeConfig } from "../dist/scripted-model/opencode-config.js";
import { startScriptedModel } from "../dist/scripted-model/server.js";
import { engineHarness } from "./engine-harness.js";
import { fmt, ratios, summary } from "./lib.js";

const REPO = join(import.meta.dirname, "..");
const KINDS = ["cold", "up", "copy"];

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

/** The noshare container's `docker run` argv, as `.ci/leg-noshare` runs ocbox (with -i for stdin). */
function noshareArgv(shared) {
  const cache = join(process.env.XDG_CACHE_HOME ?? join(process.env.HOME ?? "/root", ".cache"), "ocbox");
  const ca = process.env.OCBOX_HOST_CA ?? process.env.NODE_EXTRA_CA_CERTS ?? process.env.SSL_CERT_FILE;
  const caArgs = ca ? ["-v", `${ca}:/ocbox-host-ca.crt:ro`, "-e", "OCBOX_HOST_CA=/ocbox-host-ca.crt"] : [];
  return [
    "run",
    "-i",
    "--rm",
    "--pid",
    "host",
    "--label",
    "dev.ocbox.ci=noshare-bench",
    "-v",
    "/var/run/docker.sock:/var/run/docker.sock",
    "-v",
    `${realpathSync(process.execPath)}:/usr/local/bin/node:ro`,
    "-v",
    `${REPO}:/ocbox:ro`,
    "-v",
    `${shared}:${shared}`,
    "-v",
    `${cache}:/ocbox-cache/ocbox:ro`,
    ...caArgs,
    "--tmpfs",
    "/home/ci:exec,mode=0700",
    "-e",
    "HOME=/home/ci",
    "-e",
    "XDG_STATE_HOME=/home/ci/state",
    "-e",
    "XDG_CACHE_HOME=/ocbox-cache",
    "-e",
    `TMPDIR=/home/ci`,
    "-e",
    "PATH=/usr/local/bin:/usr/bin:/bin",
    "-w",
    "/ocbox",
    "ocbox/debian-base:bookworm",
    "node",
    "bench/engine-inside.js",
  ];
}

/** The no-shared-files engine: a harness answering over the container's stdin and stdout. */
async function noshareHarness() {
  await stageOpencodeConfig(); // the plugin package for image builds, made out here (needs npm)
  const shared = mkdtempSync(join(tmpdir(), "ocbox-bench-noshare-"));
  const child = spawn("docker", noshareArgv(shared), { stdio: ["pipe", "pipe", "inherit"] });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async () => {
    const { value, done } = await lines.next();
    if (done) throw new Error(`noshare: the container ended (exit ${child.exitCode})`);
    return JSON.parse(value);
  };
  const close = () => {
    child.stdin.end();
    spawnSync("sleep", ["2"]);
    child.kill();
    rmSync(shared, { recursive: true, force: true });
  };
  const first = await next().catch((e) => ({ error: e.message }));
  if (!first.ready) {
    close();
    throw new Error(first.error ?? "noshare: no ready line");
  }
  let queue = Promise.resolve();
  const ask = (kind) => {
    const answer = queue.then(async () => {
      child.stdin.write(`${kind}\n`);
      const a = await next();
      if (a.error) throw new Error(`noshare ${kind}: ${a.error}`);
      return a.value;
    });
    queue = answer.catch(() => undefined);
    return answer;
  };
  return {
    name: "noshare",
    version: `${first.ready} (ocbox in a container, socket only)`,
    close,
    ...Object.fromEntries(KINDS.map((k) => [k, () => ask(k)])),
  };
}

async function prepareAll(model) {
  const all = [];
  const absent = (name, e) => ({ name, absent: e instanceof Error ? e.message : String(e) });
  for (const spec of engineEnvs())
    all.push(
      await engineHarness(spec, model, scriptedOpencodeConfig(model.url)).catch((e) => absent(spec.name, e)),
    );
  if (process.env.OCBOX_BENCH_NOSHARE !== "0")
    all.push(await noshareHarness().catch((e) => absent("noshare", e)));
  for (const e of all) Object.assign(e, { samples: { cold: [], up: [], copy: [] } });
  return all;
}

function report(all) {
  const docker = all.find((e) => e.name === "docker" && !e.absent);
  const out = {};
  for (const e of all) {
    if (e.absent) {
      out[e.name] = { absent: e.absent };
      console.log(`${e.name}: not measured (${e.absent})`);
      continue;
    }
    const ok = (xs) => xs.filter((x) => !x?.error);
    const errors = Object.values(e.samples).flatMap((xs) => xs.filter((x) => x?.error).map((x) => x.error));
    const [cold, up, copy] = [ok(e.samples.cold), ok(e.samples.up), ok(e.samples.copy)];
    const part = (k) => (copy.length ? summary(copy.map((c) => c[k])) : null);
    out[e.name] = {
      version: e.version,
      upToUiReady: summary(up),
      coldRunTask: summary(cold),
      ...(errors.length ? { errors } : {}),
      copyIn: part("copyIn"),
      sync100Changed: part("sync100Changed"),
      syncUnchanged: part("syncUnchanged"),
      ...(docker && e !== docker
        ? {
            upRatioToDocker: ratios(up, docker.samples.up),
            coldRatioToDocker: ratios(cold, docker.samples.cold),
          }
        : {}),
    };
    for (const k of ["upToUiReady", "coldRunTask", "copyIn", "sync100Changed", "syncUnchanged"])
      console.log(`${e.name}: ${k} ${out[e.name][k]?.n ? fmt(out[e.name][k]) : "no sample"}`);
    for (const err of errors) console.log(`${e.name}: failed sample: ${err}`);
  }
  return out;
}

export async function benchEngines({ runs = 5 } = {}) {
  const model = await startScriptedModel({ scenario: { turns: [] } });
  const all = [];
  const load = [loadavg()[0]];
  try {
    all.push(...(await prepareAll(model)));
    const present = all.filter((e) => !e.absent);
    // Warm-up, not counted (OCBOX_BENCH_WARMUP=0 skips it when time is short).
    if (process.env.OCBOX_BENCH_WARMUP !== "0") for (const e of present) await e.cold();
    console.log(`measuring ${present.map((e) => e.name).join(", ")}`);
    for (let i = 0; i < runs; i++) {
      const order = present.map((_, j) => present[(i + j) % present.length]);
      for (const kind of KINDS) {
        // A failed sample is kept with its reason (the table says so), not the end of the bench.
        for (const e of order) e.samples[kind].push(await e[kind]().catch((err) => ({ error: err.message })));
        const shown = (v) => (typeof v === "number" ? `${v.toFixed(2)} s` : JSON.stringify(v));
        console.log(
          `round ${i + 1}: ${kind} ${order.map((e) => `${e.name} ${shown(e.samples[kind].at(-1))}`).join(", ")}`,
        );
      }
      load.push(loadavg()[0]);
    }
    const out = report(all);
    out.loadAverage1m = summary(load);
    console.log(`load average (1 min) over the run: ${fmt(out.loadAverage1m).replace(/ s/g, "")}`);
    return out;
  } finally {
    for (const e of all) e.close?.();
    await model.close();
  }
}
