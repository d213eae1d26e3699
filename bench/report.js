// BENCHMARKS.md from a full run's results. Generated sections are rewritten on every full run;
// the hand-written findings between the `findings` markers are kept.
// `node bench/report.js bench/results/<file>.json` regenerates it from a saved run.
import { existsSync, readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { median } from "./lib.js";

const FILE = join(import.meta.dirname, "..", "BENCHMARKS.md");
const START = "<!-- findings -->";
const END = "<!-- /findings -->";

const s2 = (x) => x.toFixed(2);
const sec = (s) => (s ? `${s2(s.median)} s (${s2(s.min)}–${s2(s.max)})` : "n/a");
const ratio = (r) => (r ? `${s2(r.median)}× (${s2(r.min)}–${s2(r.max)})` : "n/a");
const mark = (ok) => (ok === undefined ? "not measured" : ok ? "**met**" : "**missed**");

const NAMES = {
  bare: "bare `opencode run` on the host",
  warm: "ocbox `runTask`, warm pool",
  cold: "ocbox `runTask`, cold",
  dockerRun: "peer: `docker run --rm … opencode run`",
  dockerServe: "peer: `docker run … opencode serve` + poll + prompt",
};

/** Each worker count's wall over the next smaller one's, paired by round: the 5 % rule. */
function evalScaling(e) {
  if (!e?.rounds?.length) return undefined;
  const ws = Object.keys(e.throughput)
    .map(Number)
    .sort((a, b) => a - b);
  const pairs = ws.slice(1).map((w, i) => {
    const fewer = ws[i];
    const xs = e.rounds.map((round) => round.workers[w].warm.seconds / round.workers[fewer].warm.seconds);
    return { w, fewer, worst: Math.max(...xs), median: median(xs) };
  });
  return {
    text: pairs
      .map((p) => `${p.w} vs ${p.fewer}: ${p.median.toFixed(2)}× (worst ${p.worst.toFixed(2)}×)`)
      .join(", "),
    ok: pairs.every((p) => p.median <= 1.05),
  };
}

function goals(r) {
  const one = r.one;
  const t4 = r.throughput?.workers?.[4];
  const sidecarMB = r.footprint ? (r.footprint.ocbox.sidecarMiB * 2 ** 20) / 1e6 : undefined;
  const sc = r.scaling;
  const drift = sc?.[10] && sc?.[0] ? sc[10].overheadS.median - sc[0].overheadS.median : undefined;
  const peersBeaten = one ? Object.values(one.vsPeers).every((x) => x && x.median < 1) : undefined;
  const ev2 = r.eval?.throughput?.[2];
  const evScaling = evalScaling(r.eval);
  return [
    [
      "One task, warm pool",
      "≤ 1.0× bare",
      one && ratio(one.ratioToBare.warm),
      one && one.ratioToBare.warm.median <= 1.0,
    ],
    [
      "One task, cold",
      "≤ 1.3× bare",
      one && ratio(one.ratioToBare.cold),
      one && one.ratioToBare.cold.median <= 1.3,
    ],
    [
      "Each peer pattern beaten",
      "< 1.0× each peer",
      one &&
        `warm/run ${ratio(one.vsPeers.warmToDockerRun)}, warm/serve ${ratio(one.vsPeers.warmToDockerServe)}, cold/run ${ratio(one.vsPeers.coldToDockerRun)}, cold/serve ${ratio(one.vsPeers.coldToDockerServe)}`,
      peersBeaten,
    ],
    ["Throughput, 4 workers", "≥ 0.9× bare", t4 && `${s2(t4.ratio)}×`, t4 && t4.ratio >= 0.9],
    [
      "Idle sidecar",
      "< 30 MB",
      sidecarMB !== undefined && `${sidecarMB.toFixed(1)} MB`,
      sidecarMB !== undefined && sidecarMB < 30,
    ],
    [
      "`ocbox run` with a warm `ocbox serve` (issue 16)",
      "≤ 0.6× bare",
      r.serve && ratio(r.serve.handedOverBare),
      r.serve && r.serve.handedOverBare.median <= 0.6,
    ],
    [
      "`ocbox run` CLI, cold, whole process (issue 16)",
      "≤ 1.1× bare",
      r.serve?.coldOverBare && ratio(r.serve.coldOverBare),
      r.serve?.coldOverBare && r.serve.coldOverBare.median <= 1.1,
    ],
    [
      "`ocbox --version`, whole process (issue 16)",
      "≤ 0.15 s",
      r.cli && `${sec(r.cli.version)} (bare \`node -e ''\` ${sec(r.cli.node)})`,
      r.cli && r.cli.version.median <= 0.15,
    ],
    [
      "`runTask` warm: call → the task's first model request (issue 16)",
      "≤ 0.35 s",
      one?.firstRequestS?.warm && sec(one.firstRequestS.warm),
      one?.firstRequestS?.warm && one.firstRequestS.warm.median <= 0.35,
    ],
    [
      "`runTask` cold vs the `docker run --rm … opencode run` peer (issue 16)",
      "≤ 1.0×",
      one && ratio(one.vsPeers.coldToDockerRun),
      one && one.vsPeers.coldToDockerRun.median <= 1.0,
    ],
    [
      "`ocbox eval run`, 8 tasks, 2 workers, vs 8 bare runs in a row (issue 16)",
      "≤ 0.8× bare",
      ev2 &&
        `${ratio(ev2.ratioToBare)}${ev2.ratioToOwnFloor ? `; its own CPU floor (machine CPU ÷ cores) ${ratio(ev2.ratioToOwnFloor)}, bare's ${ratio(ev2.ratioToFloor)}` : ""}`,
      ev2 && ev2.ratioToBare.median <= 0.8,
    ],
    [
      "More eval workers never more than 5 % slower than fewer (issue 16)",
      "each ≤ 1.05× the fewer",
      evScaling && evScaling.text,
      evScaling && evScaling.ok,
    ],
    [
      "`up --detach` to UI ready vs bare `opencode serve` to healthy (issue 16)",
      "≤ 1.4×",
      r.up?.ratioToBareServe &&
        `${ratio(r.up.ratioToBareServe)}${r.up.ratioToDockerServe ? `; against \`docker run -d … opencode serve\` ${ratio(r.up.ratioToDockerServe)}` : ""}${r.up.floorRatioToBareServe ? `; the floor (its containers replayed by a bare engine client) ${ratio(r.up.floorRatioToBareServe)} bare, up ${ratio(r.up.ratioToFloor)} of it` : ""}`,
      // The goal, or (issue 16's done-when) a floor above it with up within 10 % of that floor.
      r.up?.ratioToBareServe &&
        (r.up.ratioToBareServe.median <= 1.4 ||
          (r.up.floorRatioToBareServe?.median > 1.4 && r.up.ratioToFloor?.median <= 1.1)),
    ],
    [
      "Sandbox image (issue 16)",
      "≤ 500 MB",
      r.footprint?.imageMB && `${r.footprint.imageMB.sandbox.toFixed(0)} MB`,
      r.footprint?.imageMB && r.footprint.imageMB.sandbox <= 500,
    ],
    [
      "Flat overhead (scaling)",
      "overhead at 10 s within 0.5 s of 0 s",
      drift !== undefined && `${drift >= 0 ? "+" : ""}${s2(drift)} s`,
      drift !== undefined && Math.abs(drift) <= 0.5,
    ],
  ].map(
    ([g, target, measured, ok]) =>
      `| ${g} | ${target} | ${measured || "n/a"} | ${mark(measured ? ok : undefined)} |`,
  );
}

function sections(r, file) {
  const m = r.machine;
  const out = [
    "# Benchmarks",
    "",
    `Generated by \`npm run bench\` (bench/) from [\`bench/results/${basename(file)}\`](bench/results/${basename(file)}), ${r.at.slice(0, 10)}. Do not edit the tables by hand; the findings section is kept across runs.`,
    "",
    "## Method",
    "",
    "- Real Docker engine, the real ocbox images, the pinned opencode binary, and ocbox's scripted model server answering at once (scenario 5 adds a scripted delay). The model's answer is one turn: the Agent Contract as structured output for ocbox, the word `done` for the others.",
    "- **Every figure is a ratio measured pair by pair in the same run**: each ocbox sample is divided by the bare sample taken next to it, and the medians of those ratios are reported with min and max. Patterns run in rotated order in each round; one warm-up round is not counted.",
    '- "One task" is wall time from the call to the validated result: for ocbox `runTask()` returning `COMPLETE` with a validated contract (the plan — config, images — resolved per call, images passed in as a pipeline does); for the others the process or HTTP call returning the expected answer.',
    "- **Bare** is the host's `node_modules/opencode-linux-x64/bin/opencode run` with `</dev/null`, a throwaway `HOME`/`XDG_*` (never the user's), the same offline switches as the image (`OPENCODE_DISABLE_MODELS_FETCH`, `…_AUTOUPDATE`, `…_SHARE`, `…_LSP_DOWNLOAD`), the same prebaked plugin config dir, and `OPENCODE_CONFIG` pointing at the scripted provider. Its data dir is reused between calls, as a user's is.",
    "- **Peers** use ocbox's sandbox image (same binary, same offline config dir) through the docker CLI as their shell scripts do, with `--network host` so the container reaches the scripted model on the host's loopback, as root, with the workspace bind-mounted. The serve pattern polls `GET /global/health` every 250 ms with a 1 s per-request timeout (OPENCODE-NOTES, readiness trap), then `POST /session` and `POST /session/{id}/message`, then `docker rm -f`.",
    "- The warm pool holds one sandbox (one per worker for throughput), full before each sample; its background refill is awaited outside the timed window. In the throughput scenario the pool starts no more sandboxes than the batch has tasks (`WarmPool`'s `limit`, as the eval runner sets it), so no refill nobody will take runs during the last tasks.",
    "- Footprint: engine memory stats (usage minus inactive file cache) for containers, `VmRSS` of the process tree for bare `opencode serve`, all idle for the same time, side by side.",
    "",
    "## Machine",
    "",
    `${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB, Node ${m.node}, Docker ${m.docker ?? "?"}. ${r.loadAverage ? `Load average (1 min) at the start ${r.loadAverage.start.toFixed(1)}, at the end ${r.loadAverage.end.toFixed(1)}. ` : ""}${r.sharedMachine === false ? "Nothing else ran on the machine during the run; the paired ratios are still the figures to read." : "The run was not marked quiet (`--quiet-machine`): other work may have run beside it, so absolute times are noisy; the paired ratios are the figures to read."} The full run took ${Math.round(r.seconds)} s.`,
    "",
    "## Goals (issues 8 and 16)",
    "",
    "| goal | target | measured: median (min–max) | status |",
    "|---|---|---|---|",
    ...goals(r),
    "",
  ];
  if (r.one) {
    out.push(
      `## 1. One task, end to end (n=${r.one.wallS.bare.n})`,
      "",
      "| pattern | wall time, median (min–max) | ratio to bare (paired) |",
      "|---|---|---|",
      ...Object.keys(NAMES).map(
        (n) =>
          `| ${NAMES[n]} | ${sec(r.one.wallS[n])} | ${n === "bare" ? "1" : ratio(r.one.ratioToBare[n])} |`,
      ),
      "",
      `### Task start to first model request (issue 5), n=${r.one.firstRequestS.bare.n}`,
      "",
      "From the call to the task's own chat request at the scripted model (its own timestamp); the session-title request `opencode run` sends before it is not counted.",
      "",
      "| pattern | call → first model request, median (min–max) | ratio to bare (paired) |",
      "|---|---|---|",
      ...Object.keys(NAMES).map(
        (n) =>
          `| ${NAMES[n]} | ${sec(r.one.firstRequestS[n])} | ${n === "bare" ? "1" : ratio(r.one.firstRequestRatioToBare[n])} |`,
      ),
      "",
    );
  }
  if (r.throughput) {
    out.push(
      "## 2. Throughput (trivial tasks)",
      "",
      "| workers | tasks | ocbox (warm pool of one per worker), tasks/min | bare `opencode run`, tasks/min | ratio |",
      "|---|---|---|---|---|",
      ...Object.entries(r.throughput.workers).map(([w, x]) => {
        const count = x.count ?? r.throughput.count;
        return `| ${w} | ${count} | ${x.ocbox.tasksPerMinute.toFixed(1)} (${x.warmTasks} of ${count} warm) | ${x.bare.tasksPerMinute.toFixed(1)} | ${s2(x.ratio)}× |`;
      }),
      "",
    );
  }
  if (r.up) {
    out.push(
      `## 3. Interactive start (n=${r.up.upToUiReady.n})`,
      "",
      "| what | median (min–max) |",
      "|---|---|",
      `| \`ocbox up --detach\` to UI-ready (the web UI's page answers), warm image | ${sec(r.up.upToUiReady)} |`,
      ...(r.up.bareServeToHealthy
        ? [
            `| bare \`opencode serve\` on the host to healthy | ${sec(r.up.bareServeToHealthy)} |`,
            `| ratio, paired | ${ratio(r.up.ratioToBareServe)} |`,
          ]
        : []),
      ...(r.up.dockerServeToHealthy
        ? [
            `| \`docker run -d … opencode serve\` (seed 000, host network, one container) to healthy | ${sec(r.up.dockerServeToHealthy)} |`,
            `| up's ratio to it, paired | ${ratio(r.up.ratioToDockerServe)} |`,
          ]
        : []),
      ...(r.up.floorToUiReady
        ? [
            `| floor: up's two containers, files and data volume, replayed by a bare engine client (bench/up-floor.js), to UI-ready | ${sec(r.up.floorToUiReady)} |`,
            ...(r.up.floorRatioToBareServe
              ? [
                  `| the floor's ratio to bare \`opencode serve\`, paired | ${ratio(r.up.floorRatioToBareServe)} |`,
                ]
              : []),
            `| up's ratio to the floor, paired | ${ratio(r.up.ratioToFloor)} |`,
          ]
        : []),
      "",
    );
  }
  if (r.footprint) {
    const f = r.footprint;
    out.push(
      `## 4. Footprint (idle ${f.idleS} s)`,
      "",
      "| what | memory |",
      "|---|---|",
      `| ocbox task sandbox: agent + sidecar | ${f.ocbox.totalMiB.toFixed(0)} MiB (${f.ocbox.agentMiB.toFixed(0)} + ${f.ocbox.sidecarMiB.toFixed(1)}) |`,
      `| bare \`opencode serve\` (RSS) | ${f.bareServeRssMiB.toFixed(0)} MiB — ratio ${s2(f.ratioToBareServe)}× |`,
      `| peer \`docker run … opencode serve\` | ${f.peerDockerServeMiB.toFixed(0)} MiB — ratio ${s2(f.ratioToPeerDockerServe)}× |`,
      ...(r.up?.idleMemory
        ? [
            `| \`ocbox up\` project sandbox, agent + sidecar | ${r.up.idleMemory.totalMiB.toFixed(0)} MiB (${r.up.idleMemory.perContainerMiB.map((x) => x.toFixed(0)).join(" + ")}) |`,
          ]
        : []),
      "",
      `Images: sandbox ${f.imageMB.sandbox.toFixed(0)} MB, egress sidecar ${f.imageMB.egress.toFixed(0)} MB; the bare opencode binary alone is ${f.imageMB.bareOpencodeBinary.toFixed(0)} MB.`,
      "",
      ...(f.layers
        ? [
            "Layers (the engine's image history; steps of 0 bytes left out):",
            "",
            "| image | MB | step |",
            "|---|---|---|",
            ...["sandbox", "egress"].flatMap((k) =>
              f.layers[k].map((l) => `| ${k} | ${l.MB.toFixed(1)} | \`${l.step.replace(/\|/g, "\\|")}\` |`),
            ),
            "",
          ]
        : []),
    );
  }
  if (r.scaling) {
    out.push(
      "## 5. Scaling with the model's own time",
      "",
      "| scripted delay | ocbox warm | bare | overhead (ocbox − bare, paired) | ratio |",
      "|---|---|---|---|---|",
      ...Object.entries(r.scaling).map(
        ([d, x]) => `| ${d} s | ${sec(x.warm)} | ${sec(x.bare)} | ${sec(x.overheadS)} | ${ratio(x.ratio)} |`,
      ),
      "",
    );
  }
  if (r.egress) {
    const e = r.egress;
    const ms = (x) => `${x.median.toFixed(2)} ms (${x.min.toFixed(2)}–${x.max.toFixed(2)})`;
    out.push(
      `## 6. Egress sidecar (issue 4)`,
      "",
      `Start, n=${e.start.fullToListening.n}, paired, alternating: the full \`startSandbox\` against the hardened agent container started alone through the engine (same spec, socket volume and run dir; no sidecar, no proxy staging), both to OpenCode's listening line.`,
      "",
      "| what | median (min–max) |",
      "|---|---|",
      `| full sandbox, call to listening | ${sec(e.start.fullToListening)} |`,
      `| full sandbox, call to healthy | ${sec(e.start.fullToHealthy)} |`,
      `| agent container alone, call to listening | ${sec(e.start.agentAloneToListening)} |`,
      `| **the sidecar adds** (full − alone, paired) | ${sec(e.start.sidecarAddsS)} |`,
      "",
      `Memory of the sidecar (squid and the socat relays, engine stats): idle ${e.memory.idleS} s ${e.memory.idleMB.toFixed(1)} MB; after ${e.memory.requests} requests (chat completions through the gateway and the forwarded port, CONNECTs the proxy denied) ${e.memory.afterRequestsMB.toFixed(1)} MB.`,
      "",
      `One chat completion to the scripted model (curl's \`time_total\`, a new connection each, n=${e.roundTripMs.requests} each, interleaved batches):`,
      "",
      "| path | median (min–max) | adds (median − host's median) |",
      "|---|---|---|",
      `| host → scripted model, directly | ${ms(e.roundTripMs.hostDirect)} | 0 |`,
      `| sandbox → forwarded port (socat → socket → socat) → host | ${ms(e.roundTripMs.forwardedPort)} | ${e.roundTripMs.forwardedAddsMs.toFixed(2)} ms |`,
      `| sandbox → model gateway (socat → socket → squid) → host | ${ms(e.roundTripMs.gateway)} | ${e.roundTripMs.gatewayAddsMs.toFixed(2)} ms |`,
      "",
    );
  }
  if (r.eval) {
    const e = r.eval;
    const x = (v) => `${v.median.toFixed(2)}× (${v.min.toFixed(2)}–${v.max.toFixed(2)})`;
    const pct = (v) =>
      `${(100 * v.median).toFixed(0)}% (${(100 * v.min).toFixed(0)}–${(100 * v.max).toFixed(0)})`;
    out.push(
      "## 7. Evaluation runner (issues 6, 16)",
      "",
      `\`ocbox eval run\` through its library call, ${e.count} trivial tasks a batch (the scripted model answers at once), warm pool as \`eval run\` sets it (one sandbox per worker plus one while a core is spare, no refill gate, no warm-up prompt), on ${e.cores} cores, against ${e.count} bare \`opencode run\`s in a row, ${e.rounds.length} round(s). CPU: the bare children's rusage; ocbox's process plus its containers' cpuacct, sampled every 100 ms. Floor: bare's CPU per task × tasks / cores (bare's CPU per task ${sec(e.bare.cpuPerTaskS)}, floor ${sec(e.bare.floorS)}). Machine CPU: the whole machine's busy time from \`/proc/stat\` over the batch, which counts the engine's daemons and the kernel too; busy is its share of the cores, and the own floor is machine CPU ÷ cores, the wall the batch's own work allows.`,
      "",
      "| workers | wall | ratio to bare (paired) | ratio to bare's CPU floor | CPU (ocbox's process and containers) | machine CPU | busy | ratio to its own floor | beyond the task per unit |",
      "|---|---|---|---|---|---|---|---|---|",
      `| bare | ${sec(e.bare.seconds)} | 1 | – | – | ${e.bare.machineCpuS ? sec(e.bare.machineCpuS) : "–"} | ${e.bare.busy ? pct(e.bare.busy) : "–"} | – | – |`,
      ...Object.entries(e.throughput).map(
        ([w, t]) =>
          `| ${w} | ${sec(t.seconds)} | ${x(t.ratioToBare)} | ${x(t.ratioToFloor)} | ${sec(t.cpuS)} | ${t.machineCpuS ? sec(t.machineCpuS) : "–"} | ${t.busy ? pct(t.busy) : "–"} | ${t.ratioToOwnFloor ? x(t.ratioToOwnFloor) : "–"} | ${sec(t.beyondTaskS)} |`,
      ),
      "",
      "Per-unit overhead beyond the task (1 worker; a unit's journal span minus its task's own span from unit.json's step trace):",
      "",
      "| scripted delay | beyond the task, median (min–max) |",
      "|---|---|",
      ...Object.entries(e.overhead).map(([d, o]) => `| ${d} s | ${sec(o.overheadS)} |`),
      "",
    );
  }
  if (r.serve) out.push(...serveSection(r.serve));
  if (r.start) {
    out.push(
      "## Sandbox start (for profiling)",
      "",
      `\`startSandbox\` to a healthy server, warm image: ${sec(r.start.startToReady)}; cached image check ${s2(r.start.cachedImageCheckS)} s. Smoke steps (s): ${Object.entries(
        r.start.smoke,
      )
        .map(([k, v]) => `${k} ${s2(v)}`)
        .join(", ")}.`,
      "",
    );
  }
  return out.join("\n");
}

/** Scenario "serve": `ocbox run` handed to a warm service, paired with bare `opencode run`. */
function serveSection(v) {
  return [
    `## \`ocbox run\` with a warm \`ocbox serve\` (issue 16), n=${v.handed.n}`,
    "",
    "The whole `ocbox run … --json` process (the task handed to a detached `ocbox serve --warm 1`, a warm sandbox; the provider from the project's ocbox.yaml) and a bare `opencode run` of the same task, one of each per round, the order alternating; the service's pool refills between rounds, outside the timed window.",
    "",
    "| pattern | wall, median (min–max) | paired ratio to bare |",
    "|---|---|---|",
    `| \`ocbox run\` via \`ocbox serve\` | ${sec(v.handed)} | ${ratio(v.handedOverBare)} |`,
    `| bare \`opencode run\` | ${sec(v.bare)} | 1× |`,
    ...(v.coldOverBare
      ? [
          `| \`ocbox run --no-serve\`, cold | ${sec(v.cold)} | ${ratio(v.coldOverBare)} |`,
          `| bare \`opencode run\`, beside the cold run | ${sec(v.bareCold)} | 1× |`,
        ]
      : []),
    "",
    "The cold pair (the same rounds, after the service's refill): the whole `ocbox run --no-serve … --json` process, no service and no warm pool, against a bare run next to it.",
    "",
  ];
}

export async function writeReport(results, file) {
  const old = existsSync(FILE) ? readFileSync(FILE, "utf8") : "";
  const kept =
    old.includes(START) && old.includes(END)
      ? old.slice(old.indexOf(START), old.indexOf(END) + END.length)
      : `${START}\n## Findings\n\n(none yet)\n${END}`;
  await writeFile(FILE, `${sections(results, file)}\n${kept}\n`);
  return FILE;
}

if (process.argv[1] === import.meta.filename && process.argv[2]) {
  const file = process.argv[2];
  console.log(await writeReport(JSON.parse(readFileSync(file, "utf8")), file));
}
