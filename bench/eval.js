// Scenario `eval` (issue 6): the evaluation runner as a user runs it, through `runEval` over a
// task set of trivial tasks, each in its own sandbox, the scripted model answering the contract.
// 1. Throughput in tasks/minute at 1, 2 and 4 workers, with the warm pool (the default) and cold.
// 2. Per-task overhead above the model's own time: one worker, a scripted delay of 0 s and 2 s;
//    a unit's time is its begin-to-end span in the run's journal (copy, sandbox, agent, diff,
//    session export, result files), minus the delay.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loggingSettings } from "../dist/eval/logging.js";
import { runEval } from "../dist/eval/run.js";
import { Pools } from "../dist/executor/pool.js";
import { scriptedOpencodeConfig } from "../dist/scripted-model/opencode-config.js";
import { summary } from "./lib.js";

const CONTRACT = { outcome: "COMPLETE", summary: "done" };

/** A task set of `count` identical trivial tasks. */
function taskSet(count) {
  const dir = mkdtempSync(join(tmpdir(), "ocbox-bench-eval-tasks-"));
  for (let i = 0; i < count; i++) {
    const t = join(dir, `t${String(i).padStart(2, "0")}`);
    mkdirSync(join(t, "app"), { recursive: true });
    writeFileSync(join(t, "app", "README.md"), "bench\n");
    writeFileSync(join(t, "prompt.md"), "Reply with the word done.\n");
    writeFileSync(join(t, "requirements.yaml"), "- id: done\n  description: the agent answered\n");
  }
  return dir;
}

/** One batch; tasks/minute from runEval's own clock, per-unit spans from the journal. */
async function batch(env, tasksDir, count, { workers, delayMs = 0, warm = true }) {
  env.model.setScenario({ turns: Array.from({ length: count }, () => ({ structured: CONTRACT, delayMs })) });
  const outputDir = mkdtempSync(join(tmpdir(), "ocbox-bench-eval-out-"));
  try {
    const r = await runEval({
      model: "scripted/scripted",
      tasksDir,
      outputDir,
      workers,
      opencodeConfig: scriptedOpencodeConfig(env.model.url),
      logging: loggingSettings({}, {}),
      engine: env.engine,
      images: env.images,
      pools: new Pools(),
      warmPool: warm,
      timeoutS: 120,
    });
    if (r.completed !== count) throw new Error(`eval ${workers} worker(s): ${r.completed}/${count} complete`);
    const journal = readFileSync(join(outputDir, "journal.jsonl"), "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    const begun = new Map(journal.filter((e) => e.type === "begin").map((e) => [e.unit, Date.parse(e.at)]));
    const spans = journal
      .filter((e) => e.type === "end")
      .map((e) => (Date.parse(e.at) - begun.get(e.unit)) / 1000);
    const results = journal
      .filter((e) => e.type === "end")
      .map((e) =>
        JSON.parse(readFileSync(join(outputDir, "tasks", e.unit.replace("#", "/r"), "result.json"), "utf8")),
      );
    return {
      seconds: r.seconds,
      tasksPerMinute: (count * 60) / r.seconds,
      warmTasks: results.filter((x) => x.sandbox === "warm").length,
      unitS: summary(spans),
      sandboxWaitS: summary(results.map((x) => x.timings.sandbox)),
    };
  } finally {
    rmSync(outputDir, { recursive: true, force: true });
  }
}

export async function benchEval(
  env,
  { count = 8, workers = [1, 2, 4], cold = true, delaysS = [0, 2], overheadCount = 4 } = {},
) {
  const tasksDir = taskSet(count);
  const result = { count, throughput: {}, overhead: {} };
  try {
    const warmUp = taskSet(2);
    await batch(env, warmUp, 2, { workers: 1 }).finally(() =>
      rmSync(warmUp, { recursive: true, force: true }),
    ); // not counted
    for (const w of workers) {
      const warm = await batch(env, tasksDir, count, { workers: w });
      const coldRun = cold ? await batch(env, tasksDir, count, { workers: w, warm: false }) : undefined;
      result.throughput[w] = { warm, ...(coldRun ? { cold: coldRun } : {}) };
      console.log(
        `eval throughput, ${count} tasks, ${w} worker(s): warm pool ${warm.tasksPerMinute.toFixed(1)}/min (${warm.warmTasks} warm, sandbox wait median ${warm.sandboxWaitS.median.toFixed(2)} s)${coldRun ? `, cold ${coldRun.tasksPerMinute.toFixed(1)}/min` : ""}`,
      );
    }
    const small = taskSet(overheadCount);
    try {
      for (const d of delaysS) {
        const b = await batch(env, small, overheadCount, { workers: 1, delayMs: d * 1000 });
        const over = b.unitS.samples.map((s) => s - d);
        result.overhead[d] = { ...b, overheadS: summary(over) };
        console.log(
          `eval per-task overhead, ${d} s model delay, 1 worker: unit median ${b.unitS.median.toFixed(2)} s, overhead median ${result.overhead[d].overheadS.median.toFixed(2)} s (${result.overhead[d].overheadS.min.toFixed(2)}–${result.overhead[d].overheadS.max.toFixed(2)})`,
        );
      }
    } finally {
      rmSync(small, { recursive: true, force: true });
    }
  } finally {
    rmSync(tasksDir, { recursive: true, force: true });
  }
  return result;
}
