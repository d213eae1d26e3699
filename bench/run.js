// `npm run bench [-- SCENARIO] [-- --quick] [-- --rounds N]` (N: rounds of scenario one, of gvisor or of engines): the benchmark harness (issue 8). Real engine, real
// image, real opencode, the scripted model answering instantly. Scenarios: cli, one, throughput, up,
// footprint, scaling, start, egress, eval, serve; engines (Docker beside Podman), gvisor (runsc
// registered: .ci/gvisor-runtime) and harbor (issue 15's phases) only by name. A full run (no scenario, not quick) writes
// bench/results/<date>-bench.json and regenerates BENCHMARKS.md; a single scenario or --quick
// writes <date>-<name>.json and leaves BENCHMARKS.md alone. It fails only when the bench itself
// breaks (a task did not succeed, a container did not start), never on a timing.
import { loadavg } from "node:os";
import { benchCli } from "./cli.js";
import { benchEgress } from "./egress.js";
import { benchEngines } from "./engines.js";
import { benchEval } from "./eval.js";
import { benchFootprint } from "./footprint.js";
import { benchGvisor } from "./gvisor.js";
import { benchHarbor } from "./harbor.js";
import { machine, writeResults } from "./lib.js";
import { writeReport } from "./report.js";
import { benchServe } from "./serve.js";
import { benchStart } from "./start.js";
import { benchOne, benchScaling, benchThroughput, setup } from "./task.js";
import { benchUp } from "./up.js";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const roundsArg = args.indexOf("--rounds");
const rounds = roundsArg >= 0 ? Number(args[roundsArg + 1]) : undefined;
if (rounds !== undefined && !(Number.isInteger(rounds) && rounds > 0)) {
  console.error("--rounds needs a whole number of rounds, e.g. --rounds 10");
  process.exit(2);
}
const only = args.find((a, i) => !a.startsWith("--") && args[i - 1] !== "--rounds");
const SCENARIOS = [
  "cli",
  "one",
  "throughput",
  "up",
  "footprint",
  "scaling",
  "start",
  "egress",
  "eval",
  "serve",
  "engines",
  "gvisor",
  "harbor",
];
if (only && !SCENARIOS.includes(only)) {
  console.error(`unknown scenario ${only}; one of: ${SCENARIOS.join(", ")}`);
  process.exit(2);
}
const want = (name) => !only || only === name;

const started = performance.now();
// `--quiet-machine`: the operator's word that nothing else runs beside the bench (the report says so).
const results = {
  at: new Date().toISOString(),
  quick,
  machine: machine(),
  sharedMachine: !args.includes("--quiet-machine"),
  loadAverage: { start: loadavg()[0] },
};
const env = await setup();
try {
  if (want("cli")) {
    console.log("== CLI start (whole process)");
    results.cli = await benchCli({ runs: quick ? 3 : 10 });
  }
  if (want("one")) {
    console.log("== 1. one task, end to end");
    results.one = await benchOne(env, { rounds: rounds ?? (quick ? 1 : 6) });
  }
  if (want("throughput")) {
    console.log("== 2. throughput");
    results.throughput = await benchThroughput(
      env,
      // 24 tasks where the goal is (4 workers); fewer at 1 and 2 workers, whose tasks queue anyway.
      quick ? { count: 2, workers: [2] } : { counts: { 1: 12, 2: 12, 4: 24 } },
    );
  }
  if (want("up")) {
    console.log("== 3. interactive start");
    results.up = await benchUp({
      runs: quick ? 1 : 5,
      idleS: quick ? 3 : 15,
      bare: env.bare,
      peers: env.peers,
    });
  }
  if (want("footprint")) {
    console.log("== 4. footprint");
    results.footprint = await benchFootprint(env, { idleS: quick ? 3 : 15 });
  }
  if (want("scaling")) {
    console.log("== 5. scaling");
    results.scaling = await benchScaling(env, quick ? { delaysS: [0], rounds: 1 } : {});
  }
  if (want("start")) {
    console.log("== sandbox start, smoke");
    results.start = await benchStart({ runs: quick ? 1 : 5 });
  }
  if (want("egress")) {
    console.log("== 6. egress sidecar (issue 4)");
    results.egress = await benchEgress(env, quick ? { runs: 1, requests: 10, idleS: 2 } : {});
  }
  if (want("serve")) {
    console.log("== ocbox run handed to a warm ocbox serve, vs bare opencode run (issue 16)");
    results.serve = await benchServe(env, { rounds: rounds ?? (quick ? 1 : 6) });
  }
  // Issue 14: Docker beside rootful Podman; only when asked for (it needs Podman's service).
  if (only === "engines") {
    console.log(
      "== engines: Docker, rootful Podman, Docker over ssh and the no-shared-files engine side by side",
    );
    results.engines = await benchEngines({ runs: rounds ?? (quick ? 2 : 5) });
  }
  // The gVisor tier beside runc; only when asked for (it needs runsc registered in the engine).
  if (only === "gvisor") {
    console.log("== gVisor tier: cold tasks under runc and runsc, paired");
    results.gvisor = await benchGvisor(env, { rounds: rounds ?? (quick ? 2 : 4) });
  }
  // Harbor tasks' phases (issue 15); only when asked for (it builds the fixture set's images).
  if (only === "harbor") {
    console.log("== Harbor task set: per-phase timings, scripted agent and --oracle");
    results.harbor = await benchHarbor(env, { rounds: rounds ?? (quick ? 1 : 3) });
  }
  if (want("eval")) {
    console.log("== eval runner: throughput and per-task overhead");
    results.eval = await benchEval(
      env,
      // Three rounds: the workers' goal is a median of per-round ratios, and with two a single
      // noisy batch decided it (4 vs 2 workers: 1.00 and 1.11 in one run, 1.00 and 0.93 in the next).
      quick ? { count: 4, workers: [1, 2], cold: false, overheadCount: 2 } : { cold: false, rounds: 3 },
    );
  }
} finally {
  await env.close();
}
results.seconds = (performance.now() - started) / 1000;
results.loadAverage.end = loadavg()[0];
const file = await writeResults(only ?? (quick ? "quick" : "bench"), results);
console.log(`results: ${file} (${results.seconds.toFixed(0)} s)`);
if (!only && !quick) console.log(`report: ${await writeReport(results, file)}`);
process.exit(0);
