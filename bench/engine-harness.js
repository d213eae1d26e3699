// One engine's harness for bench/engines.js, the same wherever ocbox runs (on this machine, or
// inside the no-shared-files container: bench/engine-inside.js): its driver and images, a project
// of its own for `up`, a 10 000-file, 100 MB project for copy mode, and the three samples, each
// through ocbox's public paths (the built CLI, and `runTask` of the library).
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runTask } from "../dist/executor/prepare.js";
import { Pools } from "../dist/executor/pool.js";
import { ensureImages } from "../dist/image/build.js";
import { authorization } from "../dist/opencode/server-handle.js";
import { DockerEngine } from "../dist/runtime/docker-engine.js";

const CLI = join(import.meta.dirname, "..", "dist", "bin", "ocbox.js");
const CONTRACT = { outcome: "COMPLETE", summary: "done" };
export const COPY_FILES = 10_000;
export const COPY_BYTES = 100 * 1024 * 1024;
/** Files the "agent" changes in the volume before `ocbox sync`. */
const CHANGED = 100;

/** 10 000 files of random bytes, 100 MB in all, in 100 dirs (bench/copy-mode.js's shape). */
function fillCopyProject(root) {
  const size = COPY_BYTES / COPY_FILES;
  for (let i = 0; i < COPY_FILES; i++) {
    const dir = join(root, `d${i % 100}`);
    if (i < 100) mkdirSync(dir);
    writeFileSync(join(dir, `f${i}.txt`), randomBytes(size));
  }
}

/** A sample that has not finished in `s` seconds breaks the bench, naming the engine. */
export function within(s, what, promise) {
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer in ${s} s`)), s * 1000);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** The CLI in `cwd` against `env`; throws with its stderr when it fails. */
function cli(name, cwd, env) {
  return (...args) => {
    const r = spawnSync(process.execPath, [CLI, ...args], { cwd, env, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`${name}: ocbox ${args.join(" ")} failed: ${r.stderr}`);
    return r.stdout;
  };
}

/** Prepare `name` on `env` (DOCKER_HOST…); `model` is a scripted model server reachable from here. */
export async function engineHarness({ name, env }, model, opencodeConfig) {
  const engine = new DockerEngine(env);
  const info = await engine.info();
  const images = await ensureImages(engine);
  const home = mkdtempSync(join(tmpdir(), `ocbox-bench-engines-${name}-`));
  const cliEnv = {
    ...env,
    XDG_STATE_HOME: join(home, "state"),
    XDG_DATA_HOME: join(home, "data"),
    NO_COLOR: "1",
  };
  const root = join(home, "project");
  const copyRoot = join(home, "copy-project");
  mkdirSync(root);
  mkdirSync(copyRoot);
  const ocbox = cli(name, root, cliEnv);
  const copyOcbox = cli(name, copyRoot, cliEnv);
  ocbox("init", "--yes");
  copyOcbox("init", "--yes");
  fillCopyProject(copyRoot);
  ocbox("up", "--detach"); // warm-up: state created, not counted
  ocbox("down");
  const close = () => {
    spawnSync(process.execPath, [CLI, "down"], { cwd: root, env: cliEnv });
    spawnSync(process.execPath, [CLI, "down"], { cwd: copyRoot, env: cliEnv });
    rmSync(home, { recursive: true, force: true });
  };
  const h = {
    name,
    version: `${info.flavour} ${info.version}`,
    engine,
    images,
    ocbox,
    copyOcbox,
    opencodeConfig,
    copyRoot,
    cliEnv,
  };
  return {
    name,
    version: h.version,
    up: () => within(300, `${name} up`, upSample(h)),
    cold: () => within(300, `${name} cold runTask`, coldSample(h, model)),
    copy: () =>
      within(
        600,
        `${name} copy mode`,
        Promise.resolve().then(() => copySample(h)),
      ),
    close,
  };
}

async function upSample(h) {
  const t = performance.now();
  const up = JSON.parse(h.ocbox("up", "--detach", "--json"));
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
    h.ocbox("down");
  }
}

async function coldSample(h, model) {
  model.setScenario({ turns: [{ structured: CONTRACT }] });
  const ws = mkdtempSync(join(tmpdir(), "ocbox-bench-ws-"));
  writeFileSync(join(ws, "README.md"), "a benchmark workspace\n");
  const t = performance.now();
  try {
    const result = await runTask({
      workspace: ws,
      prompt: "Reply with the word done.",
      model: "scripted/scripted",
      opencodeConfig: h.opencodeConfig,
      engine: h.engine,
      images: h.images,
      pools: new Pools(),
    });
    if (result.outcome !== "COMPLETE")
      throw new Error(`${h.name} cold: ${result.outcome} ${result.failureReason}`);
    return (performance.now() - t) / 1000;
  } finally {
    rmSync(ws, { recursive: true, force: true });
  }
}

/**
 * Copy mode through the CLI: `up --detach --copy` (its copy-in time, as `--json` reports it),
 * 100 files changed in the volume by `ocbox exec`, then `ocbox sync` (its own time, `--json`),
 * and `ocbox sync` again with nothing changed. `down` (which syncs once more) is not counted.
 */
function copySample(h) {
  const up = JSON.parse(h.copyOcbox("up", "--detach", "--copy", "--json"));
  try {
    const copyIn = up.workspace?.copyIn;
    if (up.workspace?.mode !== "copy" || !copyIn)
      throw new Error(`${h.name}: up --copy did not copy: ${JSON.stringify(up.workspace)}`);
    if (copyIn.files < COPY_FILES)
      throw new Error(`${h.name}: copied ${copyIn.files} files, not ${COPY_FILES}`);
    const stamp = Date.now();
    h.copyOcbox(
      "exec",
      "--",
      "sh",
      "-c",
      `for i in $(seq 0 ${CHANGED - 1}); do echo ${stamp} >> /workspace/d$i/f$i.txt; done`,
    );
    const changed = JSON.parse(h.copyOcbox("sync", "--json"));
    if (changed.written.length !== CHANGED || changed.deleted.length > 0)
      throw new Error(
        `${h.name}: sync wrote ${changed.written.length} files (not ${CHANGED}) and deleted ${changed.deleted.length} (${changed.deleted.slice(0, 5).join(", ")})`,
      );
    const same = JSON.parse(h.copyOcbox("sync", "--json"));
    return {
      copyIn: copyIn.ms / 1000,
      sync100Changed: changed.ms.total / 1000,
      syncUnchanged: same.ms.total / 1000,
    };
  } finally {
    // Not `copyOcbox`: a failed sample's own error is the one to see.
    spawnSync(process.execPath, [CLI, "down", "--discard"], { cwd: h.copyRoot, env: h.cliEnv });
  }
}
