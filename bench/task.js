// Scenarios 1, 2 and 5 of issue 8, and the issue-5 figure (task start to first model request).
// Every ocbox figure is paired with a bare `opencode run` measured right next to it, in the same
// round, so that the ratio survives a shared, noisy machine.
import { rmSync } from "node:fs";
import { planTask, runTask } from "../dist/executor/prepare.js";
import { Pools } from "../dist/executor/pool.js";
import { WarmPool } from "../dist/executor/warm-pool.js";
import { ensureImages } from "../dist/image/build.js";
import { DockerEngine } from "../dist/runtime/docker-engine.js";
import { scriptedOpencodeConfig } from "../dist/scripted-model/opencode-config.js";
import { startScriptedModel } from "../dist/scripted-model/server.js";
import { setTraceSink } from "../dist/util/trace.js";
import { fmt, ratios, summary } from "./lib.js";
import { bareOpencode, dockerPeers, newWorkspace } from "./peers.js";

export const CONTRACT = { outcome: "COMPLETE", summary: "done" };
const PROMPT = "Reply with the word done.";
const ANSWER = "done";

/** Everything the scenarios share: one engine, the images, one scripted model, the baselines. */
export async function setup() {
  const engine = new DockerEngine();
  const images = await ensureImages(engine);
  const model = await startScriptedModel({ scenario: { turns: [] } });
  const opencodeConfig = scriptedOpencodeConfig(model.url);
  const bare = await bareOpencode(opencodeConfig);
  const peers = dockerPeers(images.sandbox.tag, opencodeConfig);
  const options = (workspace) => ({
    workspace,
    prompt: PROMPT,
    model: "scripted/scripted",
    opencodeConfig,
    engine,
    images,
    pools: new Pools(),
  });
  const planWs = newWorkspace();
  const plan = await planTask(options(planWs));
  rmSync(planWs, { recursive: true, force: true });
  return {
    engine,
    images,
    model,
    bare,
    peers,
    options,
    profile: plan.profile,
    async close() {
      peers.close();
      bare.close();
      await model.close();
    },
  };
}

/**
 * Time one call: `turns` is the scripted model's script for it (the sample starts from a fresh
 * script). Returns wall seconds from the call to the validated answer, and seconds from the call
 * to the first model request the scripted server received.
 */
export async function timed(env, turns, call) {
  env.model.setScenario({ turns });
  const seen = env.model.requests.length;
  const ws = newWorkspace();
  const at = Date.now();
  const t = performance.now();
  try {
    await call(ws);
    const wall = (performance.now() - t) / 1000;
    const first = firstTurnRequest(env.model.requests.slice(seen));
    return { wall, firstRequest: first ? (first.at - at) / 1000 : null };
  } finally {
    rmSync(ws, { recursive: true, force: true });
  }
}

/**
 * The first request that consumed a scripted turn: the task's own model call. `opencode run`
 * sends its session-title request (a side request) 0.3–0.6 s earlier; ocbox names the session and
 * sends none, so counting side or `/models` requests would favour the `run` patterns.
 */
const firstTurnRequest = (requests) => requests.find((r) => r.answeredBy === "turn");

const expectText = (out, who) => {
  if (!out.includes(ANSWER)) throw new Error(`${who}: unexpected answer ${JSON.stringify(out.slice(-200))}`);
};
export const expectContract = (result, who) => {
  if (result.outcome !== "COMPLETE")
    throw new Error(`${who}: ${result.outcome} ${result.failureReason ?? ""} ${result.hint ?? ""}`);
};

/** Four ways of running one task, each as `(env, pool, delayMs) => timed sample`; warm is below. */
const PATTERNS = {
  bare: (env, _pool, delayMs = 0) =>
    timed(env, [{ text: ANSWER, delayMs }], async (ws) => expectText(await env.bare.run(PROMPT, ws), "bare")),
  cold: (env, _pool, delayMs = 0) =>
    timed(env, [{ structured: CONTRACT, delayMs }], async (ws) =>
      expectContract(await runTask(env.options(ws)), "ocbox cold"),
    ),
  dockerRun: (env, _pool, delayMs = 0) =>
    timed(env, [{ text: ANSWER, delayMs }], async (ws) =>
      expectText(await env.peers.run(PROMPT, ws), "docker run --rm"),
    ),
  dockerServe: (env, _pool, delayMs = 0) =>
    timed(env, [{ text: ANSWER, delayMs }], async (ws) =>
      expectText(await env.peers.serveTask(PROMPT, ws), "docker serve"),
    ),
};

/** One timed sample. For warm, the pool's background refill is awaited outside the timed window. */
async function sample(env, pool, name, delayMs) {
  if (name !== "warm") return PATTERNS[name](env, pool, delayMs);
  env.model.setScenario({ turns: [{ structured: CONTRACT, delayMs }] });
  const seen = env.model.requests.length;
  const ws = newWorkspace();
  const at = Date.now();
  const t = performance.now();
  // The trace (OCBOX_TRACE's steps): how many ran, and those over 20 ms (issue 16), in the JSON.
  const steps = [];
  setTraceSink((span) => steps.push(span));
  try {
    const result = await runTask({ ...env.options(ws), warmPool: pool });
    const wall = (performance.now() - t) / 1000;
    expectContract(result, "ocbox warm");
    if (result.sandbox !== "warm") throw new Error("ocbox warm: the task did not get a warm sandbox");
    const first = firstTurnRequest(env.model.requests.slice(seen));
    const slow = steps.filter((s) => s.durationMs > 20 && !s.name.startsWith("task."));
    return {
      wall,
      firstRequest: first ? (first.at - at) / 1000 : null,
      timings: result.timings,
      trace: { steps: steps.length, over20ms: slow.map((s) => `${s.name} ${s.durationMs.toFixed(0)} ms`) },
    };
  } finally {
    setTraceSink(undefined);
    rmSync(ws, { recursive: true, force: true });
    await pool.whenFull();
  }
}

/** Scenario 1 and the issue-5 figure: one task end to end, `rounds` rounds of every pattern. */
export async function benchOne(env, { rounds = 10 } = {}) {
  const names = ["bare", "warm", "cold", "dockerRun", "dockerServe"];
  const pool = new WarmPool(env.engine, env.profile, { size: 1 });
  const wall = Object.fromEntries(names.map((n) => [n, []]));
  const first = Object.fromEntries(names.map((n) => [n, []]));
  const warmTrace = [];
  try {
    await pool.whenFull();
    for (const n of names) await sample(env, pool, n, 0); // warm-up, not counted
    for (let i = 0; i < rounds; i++) {
      // Rotate the order so that no pattern always runs right after the same neighbour.
      const order = names.map((_, k) => names[(k + i) % names.length]);
      for (const n of order) {
        const s = await sample(env, pool, n, 0);
        wall[n].push(s.wall);
        first[n].push(s.firstRequest);
        if (s.trace) warmTrace.push(s.trace);
      }
      process.stdout.write(".");
    }
  } finally {
    await pool.close();
  }
  process.stdout.write("\n");
  const result = {
    wallS: Object.fromEntries(names.map((n) => [n, summary(wall[n])])),
    ratioToBare: Object.fromEntries(
      names.filter((n) => n !== "bare").map((n) => [n, ratios(wall[n], wall.bare)]),
    ),
    firstRequestS: Object.fromEntries(names.map((n) => [n, summary(first[n].filter((x) => x !== null))])),
    // OCBOX_TRACE's steps per warm task (the pool's refill beside it included).
    warmTrace,
    // ocbox against each peer, pair by pair (below 1: ocbox is faster).
    vsPeers: {
      warmToDockerRun: ratios(wall.warm, wall.dockerRun),
      warmToDockerServe: ratios(wall.warm, wall.dockerServe),
      coldToDockerRun: ratios(wall.cold, wall.dockerRun),
      coldToDockerServe: ratios(wall.cold, wall.dockerServe),
    },
    firstRequestRatioToBare: Object.fromEntries(
      names.filter((n) => n !== "bare").map((n) => [n, ratios(first[n], first.bare)]),
    ),
  };
  for (const n of names) {
    const r = result.ratioToBare[n];
    console.log(
      `one task, ${n}: ${fmt(result.wallS[n])}${r ? `; ratio to bare median ${r.median.toFixed(2)} (${r.min.toFixed(2)}–${r.max.toFixed(2)})` : ""}`,
    );
  }
  for (const n of names) console.log(`call to first model request, ${n}: ${fmt(result.firstRequestS[n])}`);
  return result;
}

/** Run `count` tasks with `workers` at a time; tasks per minute. */
async function throughputOf(workers, count, one) {
  let next = 0;
  let retried = 0;
  const errors = [];
  const t = performance.now();
  // Every worker runs to the end (no process outlives the batch); a failed task is retried once
  // and counted, a second failure breaks the bench with the task's own error.
  await Promise.allSettled(
    Array.from({ length: workers }, async () => {
      while (next < count && errors.length === 0) {
        next++;
        try {
          await one();
        } catch (first) {
          retried++;
          console.log(`(a task failed, retried once: ${String(first?.message ?? first).slice(0, 200)})`);
          await one().catch((e) => errors.push(e));
        }
      }
    }),
  );
  if (errors.length > 0) throw errors[0];
  const seconds = (performance.now() - t) / 1000;
  return { seconds, tasksPerMinute: (count * 60) / seconds, retried };
}

/**
 * Scenario 2: trivial tasks at 1, 2 and 4 workers, ocbox (warm pool) vs bare. `counts` gives the
 * number of tasks per worker count (default `count`): fewer where one worker's tasks follow each
 * other anyway, so the full run stays short.
 */
export async function benchThroughput(
  env,
  { count: everyCount = 24, workers = [1, 2, 4], counts = {} } = {},
) {
  const result = {};
  for (const w of workers) {
    const count = counts[w] ?? everyCount;
    // Identical turns: concurrent tasks may take them in any order.
    const script = (turn) => env.model.setScenario({ turns: Array.from({ length: count }, () => turn) });
    script({ text: ANSWER });
    const bare = await throughputOf(w, count, async () => {
      const ws = newWorkspace();
      try {
        expectText(await env.bare.run(PROMPT, ws), "bare");
      } finally {
        rmSync(ws, { recursive: true, force: true });
      }
    });
    script({ structured: CONTRACT });
    // The pool holds one ready sandbox per worker, filled before the clock starts, and starts no
    // more sandboxes than the batch has tasks (as the eval runner's pool does).
    const pool = new WarmPool(env.engine, env.profile, { size: w, limit: count });
    let ocbox;
    let warmTasks = 0;
    try {
      await pool.whenFull();
      ocbox = await throughputOf(w, count, async () => {
        const ws = newWorkspace();
        try {
          const r = await runTask({ ...env.options(ws), warmPool: pool });
          expectContract(r, "ocbox");
          if (r.sandbox === "warm") warmTasks++;
        } finally {
          rmSync(ws, { recursive: true, force: true });
        }
      });
    } finally {
      await pool.close();
    }
    result[w] = { count, bare, ocbox, warmTasks, ratio: ocbox.tasksPerMinute / bare.tasksPerMinute };
    console.log(
      `throughput, ${count} tasks, ${w} worker(s): ocbox ${ocbox.tasksPerMinute.toFixed(1)}/min (${warmTasks} warm), bare ${bare.tasksPerMinute.toFixed(1)}/min, ratio ${result[w].ratio.toFixed(2)}`,
    );
  }
  return { count: everyCount, workers: result };
}

/** Scenario 5: per-task overhead over bare as the model's own time grows. */
export async function benchScaling(env, { delaysS = [0, 2, 10], rounds = 3 } = {}) {
  const pool = new WarmPool(env.engine, env.profile, { size: 1 });
  const result = {};
  try {
    await pool.whenFull();
    for (const d of delaysS) {
      const bare = [];
      const warm = [];
      for (let i = 0; i < rounds; i++) {
        const pair = i % 2 ? ["warm", "bare"] : ["bare", "warm"];
        for (const n of pair) {
          const s = await sample(env, pool, n, d * 1000);
          (n === "bare" ? bare : warm).push(s.wall);
        }
      }
      result[d] = {
        bare: summary(bare),
        warm: summary(warm),
        overheadS: summary(warm.map((w, k) => w - bare[k])),
        ratio: ratios(warm, bare),
      };
      console.log(
        `scaling, ${d} s model delay: warm ${fmt(result[d].warm)}, bare ${fmt(result[d].bare)}, overhead median ${result[d].overheadS.median.toFixed(2)} s (${result[d].overheadS.min.toFixed(2)}–${result[d].overheadS.max.toFixed(2)})`,
      );
    }
  } finally {
    await pool.close();
  }
  return result;
}
