// The gVisor tier's cost (issue 13): cold tasks under runc and under runsc (hardening.runtime),
// paired in one run and alternated, so both see the same machine load. Each task starts a
// sandbox, runs one bash tool call that walks /usr and makes a git repo (syscall-heavy: gVisor's
// cost is per system call), then answers with the contract. Reported: wall time, time to the
// task's first model request (the start cost) and the rest (the per-task cost).
import { runTask } from "../dist/executor/prepare.js";
import { defaultProjectConfig } from "../dist/config/project-schema.js";
import { fmt, ratios, summary } from "./lib.js";
import { CONTRACT, expectContract, timed } from "./task.js";

const WORK =
  "ls -lR /usr >/dev/null; cd /tmp && git init -q g && cd g && for i in $(seq 1 50); do echo $i > f$i; done && git add . && git -c user.name=b -c user.email=b@b commit -qm b";

function configFor(runtime) {
  const config = defaultProjectConfig();
  return runtime ? { ...config, hardening: { ...config.hardening, runtime } } : config;
}

async function sample(env, runtime) {
  const turns = [
    { toolCalls: [{ name: "bash", arguments: { command: WORK, description: "bench work" } }] },
    { structured: CONTRACT },
  ];
  return timed(env, turns, async (ws) =>
    expectContract(
      await runTask({ ...env.options(ws), config: configFor(runtime) }),
      `cold ${runtime ?? "runc"}`,
    ),
  );
}

export async function benchGvisor(env, { rounds = 4, runtime = "runsc" } = {}) {
  const names = ["runc", runtime];
  const wall = { runc: [], [runtime]: [] };
  const first = { runc: [], [runtime]: [] };
  for (const n of names) await sample(env, n === "runc" ? undefined : n); // warm-up, not counted
  for (let i = 0; i < rounds; i++) {
    const order = i % 2 === 0 ? names : [...names].reverse();
    for (const n of order) {
      const s = await sample(env, n === "runc" ? undefined : n);
      wall[n].push(s.wall);
      first[n].push(s.firstRequest ?? NaN);
    }
    process.stdout.write(".");
  }
  process.stdout.write("\n");
  const rest = (n) => wall[n].map((w, i) => w - first[n][i]);
  const result = {
    runtime,
    wallS: { runc: summary(wall.runc), [runtime]: summary(wall[runtime]) },
    startS: { runc: summary(first.runc), [runtime]: summary(first[runtime]) },
    taskS: { runc: summary(rest("runc")), [runtime]: summary(rest(runtime)) },
    wallRatio: ratios(wall[runtime], wall.runc),
  };
  for (const n of names)
    console.log(
      `${n}: wall ${fmt(result.wallS[n])}; start ${fmt(result.startS[n])}; task ${fmt(result.taskS[n])}`,
    );
  if (result.wallRatio)
    console.log(`${runtime} / runc wall, pair by pair: median ${result.wallRatio.median.toFixed(2)}`);
  return result;
}
