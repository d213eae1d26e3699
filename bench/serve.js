// Scenario "serve" (issue 16): the whole `ocbox run` process while this user's `ocbox serve` is
// running (the task handed over, a warm sandbox), paired round by round with a bare
// `opencode run` of the same task. The service runs detached in a private state dir; the
// project's ocbox.yaml defines the scripted provider (so the workspace brings no opencode.json
// and the warm sandbox's preloaded instance stays). Between samples the service's warm pool
// refills outside the timed window. The same rounds time a cold `ocbox run --no-serve` (the whole
// process, no service, no warm pool: what a program pays per task without `ocbox serve`), paired
// with the same bare run (issue 16's "`ocbox run` CLI, cold, whole process, vs bare" row).
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connectService } from "../dist/service/client.js";
import { serviceFiles } from "../dist/service/service-files.js";
import { CONTRACT, timed } from "./task.js";
import { fmt, ratios, summary } from "./lib.js";

const CLI = join(import.meta.dirname, "..", "dist", "bin", "ocbox.js");
const PROMPT = "Reply with the word done.";

function cli(args, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, NO_COLOR: "1", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

async function warmReady(files) {
  const deadline = Date.now() + 300_000;
  for (;;) {
    const client = await connectService(files);
    const status = client && (await client.call("GET", "/v1/status"));
    if (status && status.warm.ready >= 1) return;
    if (Date.now() > deadline) throw new Error("ocbox serve: no warm sandbox within 300 s");
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** One `ocbox run` handed to the service; throws unless it was handed over, warm and COMPLETE. */
async function handedRun(project, env) {
  const ws = mkdtempSync(join(project, "ws-"));
  try {
    const r = await cli(["run", "-w", ws, "-p", PROMPT, "--json"], env);
    if (!/task handed to the running service/.test(r.stderr)) throw new Error(`not handed over: ${r.stderr}`);
    const result = JSON.parse(r.stdout);
    if (r.code !== 0 || result.outcome !== "COMPLETE" || result.sandbox !== "warm")
      throw new Error(`ocbox run via serve: exit ${r.code}, ${result.outcome}, ${result.sandbox}`);
    return result;
  } finally {
    rmSync(ws, { recursive: true, force: true });
  }
}

/** One cold `ocbox run --no-serve`; throws unless it ran cold, by itself, and COMPLETE. */
async function coldRun(project, env) {
  const ws = mkdtempSync(join(project, "ws-"));
  try {
    const r = await cli(["run", "--no-serve", "-w", ws, "-p", PROMPT, "--json"], env);
    if (/handed to the running service/.test(r.stderr)) throw new Error("--no-serve was handed over");
    const result = JSON.parse(r.stdout);
    if (r.code !== 0 || result.outcome !== "COMPLETE" || result.sandbox !== "cold")
      throw new Error(`ocbox run --no-serve: exit ${r.code}, ${result.outcome}, ${result.sandbox}`);
    return result;
  } finally {
    rmSync(ws, { recursive: true, force: true });
  }
}

export async function benchServe(env, { rounds = 5 } = {}) {
  const state = mkdtempSync(join(tmpdir(), "ocbox-bench-serve-state-"));
  const project = mkdtempSync(join(tmpdir(), "ocbox-bench-serve-proj-"));
  const files = serviceFiles({ XDG_STATE_HOME: state });
  const cliEnv = { XDG_STATE_HOME: state };
  writeFileSync(
    join(project, "ocbox.yaml"),
    `model:\n  provider: scripted\n  baseURL: ${env.model.url}\n  models:\n    scripted: {}\n`,
  );
  mkdirSync(join(project, "warmup"));
  const up = await cli(["serve", "--detach", "--warm", "1"], cliEnv);
  if (up.code !== 0) throw new Error(`ocbox serve --detach: ${up.stderr}`);
  const handed = [];
  const cold = [];
  const bare = [];
  const bareCold = [];
  try {
    // The first task of the profile starts cold (and its pool); it approves the project's ocbox.yaml.
    env.model.setScenario({ turns: [{ structured: CONTRACT }] });
    const first = await cli(["run", "-w", join(project, "warmup"), "-p", PROMPT, "--approve-config"], cliEnv);
    if (first.code !== 0) throw new Error(`warm-up: ${first.stderr}`);
    for (let i = 0; i < rounds; i++) {
      await warmReady(files);
      const pair = [
        ["handed", () => timed(env, [{ structured: CONTRACT }], () => handedRun(project, cliEnv))],
        ["bare", () => timed(env, [{ text: "done" }], (ws) => env.bare.run(PROMPT, ws))],
      ];
      const into = { handed, bare, cold, bareCold };
      // Alternate which goes first, so neither always follows the pool's refill.
      for (const [name, sample] of i % 2 ? pair.reverse() : pair) into[name].push((await sample()).wall);
      // The cold pair after the service's refill, so the refill's CPU is not on either of them.
      await warmReady(files);
      const coldPair = [
        ["cold", () => timed(env, [{ structured: CONTRACT }], () => coldRun(project, cliEnv))],
        ["bareCold", () => timed(env, [{ text: "done" }], (ws) => env.bare.run(PROMPT, ws))],
      ];
      for (const [name, sample] of i % 2 ? coldPair.reverse() : coldPair)
        into[name].push((await sample()).wall);
      process.stdout.write(".");
    }
  } finally {
    await cli(["serve", "stop"], cliEnv);
    rmSync(project, { recursive: true, force: true });
    rmSync(state, { recursive: true, force: true });
  }
  const result = {
    handed: summary(handed),
    bare: summary(bare),
    handedOverBare: ratios(handed, bare),
    cold: summary(cold),
    bareCold: summary(bareCold),
    coldOverBare: ratios(cold, bareCold),
  };
  console.log(`\nocbox run, handed to a warm ocbox serve: ${fmt(result.handed)}`);
  console.log(`bare opencode run:                      ${fmt(result.bare)}`);
  const r = result.handedOverBare;
  console.log(
    `paired ratio: median ${r.median.toFixed(2)}× (min ${r.min.toFixed(2)}, max ${r.max.toFixed(2)})`,
  );
  const c = result.coldOverBare;
  console.log(`ocbox run --no-serve, cold (whole process): ${fmt(result.cold)}`);
  console.log(`bare opencode run, beside it:               ${fmt(result.bareCold)}`);
  console.log(
    `paired ratio: median ${c.median.toFixed(2)}× (min ${c.min.toFixed(2)}, max ${c.max.toFixed(2)})`,
  );
  return result;
}
