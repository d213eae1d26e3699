// Scenario `eval` (issue 6): the evaluation runner as a user runs it, through `runEval` over a
// task set of trivial tasks, each in its own sandbox, the scripted model answering the contract.
// 1. Throughput in tasks/minute at 1, 2 and 4 workers, with the warm pool (the default) and cold.
// 2. Per-task overhead beyond the task itself: a unit's begin-to-end span in the run's journal
//    minus its task's own span (`runTask`'s work: sandbox, agent, sandbox end; the step trace in
//    unit.json), i.e. the copies, the session export, the diff, the files and the journal lines.
// 3. Against bare: the same tasks as `count` bare `opencode run`s in a row, paired in one run,
//    with CPU time: bare's (the children's rusage) and ocbox's (this process plus every sandbox
//    container's cpuacct, sampled), and the CPU floor (bare's CPU per task × tasks / cores).
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { loggingSettings } from "../dist/eval/logging.js";
import { runEval } from "../dist/eval/run.js";
import { Pools } from "../dist/executor/pool.js";
import { scriptedOpencodeConfig } from "../dist/scripted-model/opencode-config.js";
import { summary } from "./lib.js";
import { containerCpu, childCpuS, machineCpuS } from "./cpu.js";

const CONTRACT = { outcome: "COMPLETE", summary: "done" };

/** A task set of `count` identical trivial tasks. */
export function taskSetForBench(count) {
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
async function batch(env, tasksDir, count, { workers, delayMs = 0, warm = true, evalOptions = {} }) {
  env.model.setScenario({ turns: Array.from({ length: count }, () => ({ structured: CONTRACT, delayMs })) });
  const outputDir = mkdtempSync(join(tmpdir(), "ocbox-bench-eval-out-"));
  try {
    const cpu = containerCpu(env.engine);
    const self0 = process.cpuUsage();
    const machine0 = machineCpuS();
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
      ...evalOptions,
    });
    const machineS = machineCpuS() - machine0;
    const containersS = await cpu.stop();
    const containerCpuByRoleS = cpu.byRole();
    const self = process.cpuUsage(self0);
    const cpuS = containersS + (self.user + self.system) / 1e6;
    if (r.completed !== count) {
      const why = readdirSync(join(outputDir, "tasks")).map((t) => {
        const x = JSON.parse(readFileSync(join(outputDir, "tasks", t, "r1", "result.json"), "utf8"));
        return `${t}: ${x.outcome} ${x.failureReason ?? ""} ${x.sandbox} ${x.hint ?? ""}`.slice(0, 400);
      });
      throw new Error(`eval ${workers} worker(s): ${r.completed}/${count} complete\n${why.join("\n")}`);
    }
    const journal = readFileSync(join(outputDir, "journal.jsonl"), "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    const begun = new Map(journal.filter((e) => e.type === "begin").map((e) => [e.unit, Date.parse(e.at)]));
    const ends = journal.filter((e) => e.type === "end");
    const spans = ends.map((e) => (Date.parse(e.at) - begun.get(e.unit)) / 1000);
    const read = (e, f) =>
      JSON.parse(readFileSync(join(outputDir, "tasks", e.unit.replace("#", "/r"), f), "utf8"));
    const results = ends.map((e) => read(e, "result.json"));
    const steps = ends.map((e) => read(e, "unit.json").steps ?? {});
    const beyondTask = spans.map((s, i) => s - (steps[i].task ?? 0) - (steps[i].check ?? 0));
    const stepMedians = Object.fromEntries(
      [...new Set(steps.flatMap((s) => Object.keys(s)))].map((k) => [
        k,
        summary(steps.map((s) => s[k] ?? 0)).median,
      ]),
    );
    return {
      seconds: r.seconds,
      cpuS,
      machineCpuS: machineS,
      containerCpuS: containersS,
      containerCpuByRoleS,
      selfCpuS: (self.user + self.system) / 1e6,
      beyondTaskS: summary(beyondTask),
      stepMedianS: stepMedians,
      tasksPerMinute: (count * 60) / r.seconds,
      warmTasks: results.filter((x) => x.sandbox === "warm").length,
      unitS: summary(spans),
      sandboxWaitS: summary(results.map((x) => x.timings.sandbox)),
    };
  } finally {
    rmSync(outputDir, { recursive: true, force: true });
  }
}

/** `count` bare `opencode run`s in a row (the trivial task each), wall and CPU time. */
async function bareBatch(env, count) {
  env.model.setScenario({ turns: Array.from({ length: count }, () => ({ text: "done" })) });
  const ws = mkdtempSync(join(tmpdir(), "ocbox-bench-eval-bare-"));
  const cpu0 = childCpuS();
  const machine0 = machineCpuS();
  const t = performance.now();
  try {
    for (let i = 0; i < count; i++) await env.bare.run("Reply with the word done.", ws);
    return {
      seconds: (performance.now() - t) / 1000,
      cpuS: childCpuS() - cpu0,
      machineCpuS: machineCpuS() - machine0,
    };
  } finally {
    rmSync(ws, { recursive: true, force: true });
  }
}

export async function benchEval(
  env,
  {
    count = 8,
    workers = [1, 2, 4],
    cold = true,
    rounds = 1,
    overheadCount = 4,
    delaysS = [0],
    evalOptions = {},
  } = {},
) {
  const tasksDir = taskSetForBench(count);
  const cores = availableParallelism();
  const result = { count, cores, rounds: [], throughput: {}, overhead: {} };
  try {
    const warmUp = taskSetForBench(2);
    await batch(env, warmUp, 2, { workers: 1 }).finally(() =>
      rmSync(warmUp, { recursive: true, force: true }),
    ); // not counted
    for (let round = 0; round < rounds; round++) {
      const bare = await bareBatch(env, count);
      const row = { bare, workers: {} };
      for (const w of workers) {
        const warm = await batch(env, tasksDir, count, { workers: w, evalOptions });
        const coldRun = cold ? await batch(env, tasksDir, count, { workers: w, warm: false }) : undefined;
        row.workers[w] = { warm, ...(coldRun ? { cold: coldRun } : {}), ratio: warm.seconds / bare.seconds };
        console.log(
          `eval ${count} tasks, ${w} worker(s): ${warm.seconds.toFixed(1)} s (${(warm.seconds / bare.seconds).toFixed(2)}× bare's ${bare.seconds.toFixed(1)} s), CPU ${warm.cpuS.toFixed(1)} s, machine ${warm.machineCpuS.toFixed(1)} s = ${((100 * warm.machineCpuS) / (warm.seconds * cores)).toFixed(0)}% busy (this process ${warm.selfCpuS.toFixed(1)}, containers ${JSON.stringify(Object.fromEntries(Object.entries(warm.containerCpuByRoleS).map(([k, v]) => [k, Number(v.toFixed(1))])))}; bare ${bare.cpuS.toFixed(1)} s), ${warm.warmTasks} warm, beyond the task median ${warm.beyondTaskS.median.toFixed(3)} s (${warm.beyondTaskS.min.toFixed(3)}–${warm.beyondTaskS.max.toFixed(3)}), steps ${JSON.stringify(warm.stepMedianS)}${coldRun ? `, cold ${coldRun.seconds.toFixed(1)} s` : ""}`,
        );
      }
      result.rounds.push(row);
    }
    const floorS = (r) => r.bare.cpuS / cores;
    result.bare = {
      seconds: summary(result.rounds.map((r) => r.bare.seconds)),
      cpuPerTaskS: summary(result.rounds.map((r) => r.bare.cpuS / count)),
      floorS: summary(result.rounds.map(floorS)),
      machineCpuS: summary(result.rounds.map((r) => r.bare.machineCpuS)),
      busy: summary(result.rounds.map((r) => r.bare.machineCpuS / (r.bare.seconds * cores))),
    };
    for (const w of workers) {
      const runs = result.rounds.map((r) => r.workers[w]);
      result.throughput[w] = {
        seconds: summary(runs.map((x) => x.warm.seconds)),
        ratioToBare: summary(runs.map((x) => x.ratio)),
        ratioToFloor: summary(result.rounds.map((r) => r.workers[w].warm.seconds / floorS(r))),
        cpuS: summary(runs.map((x) => x.warm.cpuS)),
        // The whole machine's busy CPU in the batch (the engine's daemons too), its share of the
        // cores, and the wall against the floor it sets (machine CPU ÷ cores).
        machineCpuS: summary(runs.map((x) => x.warm.machineCpuS)),
        busy: summary(runs.map((x) => x.warm.machineCpuS / (x.warm.seconds * cores))),
        ratioToOwnFloor: summary(runs.map((x) => x.warm.seconds / (x.warm.machineCpuS / cores))),
        beyondTaskS: summary(runs.flatMap((x) => x.warm.beyondTaskS.samples)),
        ...(cold ? { coldSeconds: summary(runs.map((x) => x.cold.seconds)) } : {}),
      };
    }
    console.log(
      `bare: ${count} opencode runs in a row ${result.bare.seconds.median.toFixed(1)} s, CPU per task ${result.bare.cpuPerTaskS.median.toFixed(2)} s, machine ${result.bare.machineCpuS.median.toFixed(1)} s = ${(100 * result.bare.busy.median).toFixed(0)}% busy, floor on ${cores} cores ${result.bare.floorS.median.toFixed(1)} s`,
    );
    const small = taskSetForBench(overheadCount);
    try {
      for (const d of delaysS) {
        const b = await batch(env, small, overheadCount, { workers: 1, delayMs: d * 1000 });
        result.overhead[d] = { ...b, overheadS: b.beyondTaskS };
        console.log(
          `eval per-unit overhead beyond the task, ${d} s model delay, 1 worker: median ${b.beyondTaskS.median.toFixed(3)} s (${b.beyondTaskS.min.toFixed(3)}–${b.beyondTaskS.max.toFixed(3)}), steps ${JSON.stringify(b.stepMedianS)}`,
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
