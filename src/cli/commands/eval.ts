/**
 * `ocbox eval run | judge | report`: thin layers over src/eval. This file draws the progress
 * (a live block on a terminal, plain lines elsewhere) and prefixes the live logs.
 */
import { ORACLE_MODEL, withOracleModel } from "../../eval/oracle-model.js";
import { readFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Command } from "commander";
import { parseOpencodeConfig } from "../../config/opencode-json.js";
import { OcboxError, errorMessage } from "../../errors.js";
import { runJudge, type JudgeEvent } from "../../eval/judge.js";
import { describeLogging, loggingSettings, type LoggingSettings } from "../../eval/logging.js";
import { Progress, type UnitStreamEvent } from "../../eval/progress.js";
import { HARBOR_DIR } from "../../eval/harbor-result.js";
import { writeReport } from "../../eval/report-file.js";
import { writeSummary } from "../../eval/summary-file.js";
import { pruneEval, type PruneReport } from "../../eval/prune.js";
import type { PruneImage } from "../../eval/prune-plan.js";
import { evalTaskOptions, noTasks, runEval, type EvalEvent } from "../../eval/run.js";
import { loadTaskSet } from "../../eval/task-set.js";
import { buildTaskImages } from "../../eval/task-images.js";
import { taskSetLines, viewTaskSet } from "../../eval/task-set-view.js";
import { APPROVE_CONFIG_HELP, COPY_HELP } from "../flags.js";
import { dryPlanTask } from "../../executor/dry-plan.js";
import type { Context } from "../context.js";
import { factorFlag, secondsFlag } from "../flags.js";
import { style, terminalLine } from "../output.js";
import { printPlan } from "./plan.js";

type Runner = (fn: (ctx: Context) => Promise<number>) => void;

const positiveInt = (flag: string, v: string | undefined, fallback: number): number => {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1)
    throw new OcboxError("USAGE", `${flag} must be a whole number ≥ 1, not ${v}`);
  return n;
};

/** `--opencode-config FILE` (passed explicitly, so approved); without it eval run reads <tasks>/opencode.json itself, checked. */
async function opencodeConfigFrom(file: string | undefined) {
  if (!file) return undefined;
  const text = await readFile(file, "utf8").catch((e: unknown) => {
    throw new OcboxError("USAGE", `cannot read ${file}: ${errorMessage(e)}`, {
      fix: "Check --opencode-config.",
    });
  });
  return parseOpencodeConfig(text, file);
}

/** Log lines above a live progress block that is redrawn in place on a terminal. */
function liveOutput(ctx: Context, progress: Progress) {
  const tty = process.stderr.isTTY && !ctx.out.json;
  let drawn = 0;
  const clear = () => {
    if (drawn) process.stderr.write(`\u001b[${drawn}A\u001b[J`);
    drawn = 0;
  };
  const draw = () => {
    if (!tty) return;
    clear();
    const lines = [progress.line(), ...progress.runningLines()];
    process.stderr.write(`${lines.join("\n")}\n`);
    drawn = lines.length;
  };
  const timer = tty ? setInterval(draw, 1000) : undefined;
  timer?.unref();
  return {
    log(line: string) {
      clear();
      process.stderr.write(`${terminalLine(line)}\n`);
      draw();
    },
    /** Off a terminal: one plain progress line per finished unit. */
    milestone() {
      if (tty) draw();
      else if (!ctx.out.json) process.stderr.write(`${progress.line()}\n`);
    },
    redraw: draw,
    stop() {
      if (timer) clearInterval(timer);
      clear();
    },
  };
}

interface RunFlags {
  model?: string;
  oracle?: boolean;
  tasks: string;
  output: string;
  workers?: string;
  agentLogs?: boolean;
  verbose?: boolean;
  filter?: string;
  limit?: string;
  timeoutMultiplier?: string;
  repeat?: string;
  force?: boolean;
  retryFailed?: string;
  role?: string;
  timeout?: string;
  opencodeConfig?: string;
  approveConfig?: boolean;
  copy?: boolean;
  workflow?: string;
  dryRun?: boolean;
}

interface JudgeFlags {
  model: string;
  input: string;
  workers?: string;
  rerun?: string;
  agentLogs?: boolean;
  verbose?: boolean;
  timeout?: string;
  opencodeConfig?: string;
  approveConfig?: boolean;
}

const prefix = (unit: string, kind: string) => `[ocbox][${unit}][${kind}]`;

/** A running unit's start, phase and log lines, the same for `eval run` and `eval judge`. */
/** A task's WARNING lines (weakened hardening, denied model hosts): each shown once per run. */
const shownWarnings = new Set<string>();

function showUnitEvent(e: UnitStreamEvent, progress: Progress, live: ReturnType<typeof liveOutput>): void {
  if (e.type === "unit-start") progress.start(e.unit);
  else if (e.type === "phase") {
    progress.phase(e.unit, e.phase);
    if (e.phase === "warning" && !shownWarnings.has(e.message)) {
      shownWarnings.add(e.message);
      live.log(style.yellow(e.message));
    }
  } else live.log(`${prefix(e.unit, e.type)} ${e.line}`);
}

function settings(ctx: Context, flags: { agentLogs?: boolean; verbose?: boolean }): LoggingSettings {
  const s = loggingSettings(
    { agentLogs: flags.agentLogs ?? false, verbose: (flags.verbose ?? false) || ctx.out.verbose },
    process.env,
  );
  ctx.out.notice(describeLogging(s));
  return s;
}

/** `eval run --dry-run`: the run-wide plan (a task.yaml's own model, role or timeout is not in it). */
async function printEvalPlan(
  ctx: Context,
  flags: RunFlags & { model: string },
  logging: LoggingSettings,
  opencodeConfig: Record<string, unknown> | undefined,
): Promise<number> {
  const options = {
    logging,
    ...(opencodeConfig ? { opencodeConfig } : {}),
    ...(flags.workflow ? { workflowFile: flags.workflow } : {}),
    ...(flags.approveConfig ? { approveConfig: true } : {}),
    ...(flags.copy ? { copy: true } : {}),
  };
  const task = {
    model: flags.model,
    role: flags.role,
    hardS: flags.timeout ? secondsFlag("--timeout", flags.timeout) : undefined,
  };
  return printPlan(ctx, await dryPlanTask(evalTaskOptions(options, resolve(flags.tasks), task)));
}

interface TasksFlags {
  tasks: string;
  filter?: string;
  limit?: string;
  build?: boolean;
  rebuild?: boolean;
}

/** `eval tasks`: list and check a task set; with --build, make each Harbor task's image. */
async function checkTaskSet(ctx: Context, flags: TasksFlags): Promise<number> {
  const dir = resolve(flags.tasks);
  const set = await loadTaskSet(dir, {
    filter: flags.filter,
    ...(flags.limit ? { limit: positiveInt("--limit", flags.limit, 1) } : {}),
  });
  if (set.tasks.length === 0 && set.invalid.length === 0) throw noTasks(dir, flags.filter);
  const view = viewTaskSet(set);
  if (!flags.build) {
    ctx.out.result(view, taskSetLines);
    return set.invalid.length ? 1 : 0;
  }
  const images = await buildTaskImages(ctx.engine(), set.tasks, {
    ...(flags.rebuild ? { rebuild: true } : {}),
    signal: ctx.signal,
    onLine: (task, line) => ctx.out.notice(`[ocbox][${task}][build] ${line}`),
  });
  const built = Object.fromEntries(images);
  ctx.out.result({ ...view, images: built }, (v) => [
    ...taskSetLines(v),
    ...Object.entries(v.images).map(([id, i]) =>
      i.ok
        ? `${id}: image ${i.tag} (${i.built ? `made in ${i.seconds.toFixed(1)} s` : "already here"})`
        : `${id}: ${style.red("no image")}: ${i.error}`,
    ),
  ]);
  return set.invalid.length || [...images.values()].some((i) => !i.ok) ? 1 : 0;
}

export function registerEval(program: Command, run: Runner) {
  const evalCmd = program
    .command("eval")
    .description("run the agent over a task set, judge the results, report");

  evalCmd
    .command("run")
    .description("run every task of a task set in its own sandbox (resumable)")
    .option("-m, --model <provider/model>", "the solver model (required unless --oracle)")
    .requiredOption("--tasks <dir>", "the task set: one folder per task")
    .requiredOption("--output <dir>", "where results go; the same dir again resumes")
    .option(
      "--oracle",
      "Harbor tasks: run solution/solve.sh in the agent's place (no model), then the verifier",
    )
    .option("--workers <n>", "tasks run at once (default 1)")
    .option("--repeat <k>", "runs per task (default 1)")
    .option("--filter <glob>", "only tasks whose id matches (* and ?, comma-separated)")
    .option("--limit <n>", "only the first N tasks (in id order) that match --filter")
    .option("--timeout-multiplier <f>", "scale every timeout (agent, check, verifier, image build) by F")
    .option("--agent-logs", "stream live agent activity and the server's DEBUG logs")
    .option("--verbose", "also trace each model call, phases and 3 s heartbeats (implies --agent-logs)")
    .option("--force", "continue a run whose config or tasks changed (changed tasks rerun)")
    .option("--retry-failed <kind>", "rerun finished units that failed for this reason: infra")
    .option("--role <name>", "a role from the workflow (ocbox.yaml roles:)")
    .option("--timeout <s>", "hard cap per task in seconds, unless task.yaml says otherwise")
    .option("--opencode-config <file>", "extra OpenCode config (providers); default <tasks>/opencode.json")
    .option("--workflow <file>", "a file with roles:, pools: and executor:")
    .option("--copy", COPY_HELP)
    .option("--approve-config", APPROVE_CONFIG_HELP)
    .option("--dry-run", "print the run's plan (as `ocbox plan --entry eval-run`) and start nothing")
    .action((flags: RunFlags) => run((ctx) => evalRunAction(ctx, flags)));

  evalCmd
    .command("tasks")
    .description("read and check a task set (ocbox's or Harbor's format) and list its tasks")
    .requiredOption("--tasks <dir>", "the task set: one folder per task")
    .option("--filter <glob>", "only tasks whose id matches (* and ?, comma-separated)")
    .option("--limit <n>", "only the first N tasks (in id order) that match --filter")
    .option("--build", "also build (or pull) each Harbor task's image, as a run would")
    .option("--rebuild", "with --build: build even when the image for that context exists")
    .action((flags: TasksFlags) => run((ctx) => checkTaskSet(ctx, flags)));

  evalCmd
    .command("judge")
    .description("grade every finished task of a run against its requirements (cached)")
    .requiredOption("-m, --model <provider/model>", "the judge model")
    .requiredOption("--input <dir>", "the --output dir of `ocbox eval run`")
    .option("--workers <n>", "judges at once (default 1)")
    .option("--rerun <what>", "missing (default), all, or a task id / unit key to judge again")
    .option("--agent-logs", "stream live judge activity and the server's DEBUG logs")
    .option("--verbose", "also trace phases and 3 s heartbeats (implies --agent-logs)")
    .option("--timeout <s>", "hard cap per judgement in seconds")
    .option("--opencode-config <file>", "extra OpenCode config (providers) for the judge")
    .action((flags: JudgeFlags) => run((ctx) => evalJudgeAction(ctx, flags)));

  addReportCommand(evalCmd, run);
  addPruneCommand(evalCmd, run);
}

const collect = (value: string, list: string[]) => [...list, value];

/** `eval report DIR`: summary.json and harbor/ rewritten from the unit records, then report.html. */
function addReportCommand(evalCmd: Command, run: Runner) {
  evalCmd
    .command("report")
    .description(
      "rewrite a run's summary.json and harbor/ results from its unit records, and write its self-contained HTML report",
    )
    .argument("<dir>", "the output dir of `ocbox eval run`")
    .option("--compare <dir2>", "a second run to compare side by side (read only)")
    .option("--out <file>", "where to write it (default <dir>/report.html)")
    .action((dir: string, flags: { compare?: string; out?: string }) =>
      run(async (ctx) => {
        await writeSummary(dir);
        const file = await writeReport(dir, flags);
        const harbor = join(resolve(dir), HARBOR_DIR);
        const result = {
          summary: join(resolve(dir), "summary.json"),
          harbor: existsSync(harbor) ? harbor : null,
          report: file,
        };
        ctx.out.result(result, (r) => [
          `summary: ${r.summary}`,
          ...(r.harbor ? [`harbor results: ${r.harbor}`] : []),
          `report: ${r.report}`,
        ]);
        return 0;
      }),
    );
}

/** `eval prune` (prune.ts). */
function addPruneCommand(evalCmd: Command, run: Runner) {
  evalCmd
    .command("prune")
    .description(
      "remove task images no task set in use needs, payload volumes of other OpenCode versions, and stopped eval leftovers",
    )
    .option(
      "--tasks <dir>",
      "a task set to count as in use (repeatable), besides the recorded ones",
      collect,
      [],
    )
    .option(
      "--task-set <dir>",
      "judge only the task images built for this task set (repeatable); volumes and containers are left alone",
      collect,
      [],
    )
    .option("--dry-run", "list what would be removed; remove nothing")
    .action((flags: { tasks: string[]; taskSet: string[]; dryRun?: boolean }) =>
      run(async (ctx) => {
        const report = await pruneEval(ctx.engine(), {
          dryRun: flags.dryRun === true,
          inUse: flags.tasks,
          taskSets: flags.taskSet,
        });
        ctx.out.result(report, pruneLines);
        return report.errors.length ? 1 : 0;
      }),
    );
}

function pruneLines(r: PruneReport): string[] {
  const verb = r.dryRun ? "would remove" : "removed";
  const name = (i: PruneImage) => `${i.tags[0] ?? i.id.slice(0, 19)}${i.task ? ` (task ${i.task})` : ""}`;
  const lines = [
    ...r.containers.map((c) => `${verb} container ${c}`),
    ...r.images.removed.map((i) => `${verb} image ${name(i)}`),
    ...r.volumes.removed.map((v) => `${verb} volume ${v}`),
    ...r.images.kept.map((k) => `kept image ${name(k.image)}: ${k.reason}`),
    ...r.volumes.kept.map((k) => `kept volume ${k.volume}: ${k.reason}`),
    ...r.errors.map((e) => `could not remove ${e}`),
  ];
  return lines.length ? lines : ["nothing to prune"];
}

type LiveView = { progress: Progress; live: ReturnType<typeof liveOutput> };

async function evalRunAction(ctx: Context, flags: RunFlags): Promise<number> {
  if (flags.retryFailed !== undefined && flags.retryFailed !== "infra")
    throw new OcboxError("USAGE", `--retry-failed takes infra, not ${flags.retryFailed}`);
  if (!flags.model && !flags.oracle)
    throw new OcboxError("USAGE", "eval run needs --model (or --oracle, which runs no model)", {
      fix: "Pass --model provider/model, or --oracle to validate a Harbor task set with its solutions.",
    });
  const workers = positiveInt("--workers", flags.workers, 1);
  const logging = settings(ctx, flags);
  const given = await opencodeConfigFrom(flags.opencodeConfig);
  const opencodeConfig = flags.model ? given : withOracleModel(given);
  const model = flags.model ?? ORACLE_MODEL;
  if (flags.dryRun) return printEvalPlan(ctx, { ...flags, model }, logging, opencodeConfig);
  let progress = new Progress(0, workers);
  let live = liveOutput(ctx, progress);
  const result = await runEval({
    model,
    ...(flags.oracle ? { oracle: true } : {}),
    tasksDir: flags.tasks,
    outputDir: flags.output,
    workers,
    repeat: positiveInt("--repeat", flags.repeat, 1),
    ...(flags.filter ? { filter: flags.filter } : {}),
    ...(flags.limit ? { limit: positiveInt("--limit", flags.limit, 1) } : {}),
    ...(flags.timeoutMultiplier
      ? { timeoutMultiplier: factorFlag("--timeout-multiplier", flags.timeoutMultiplier) }
      : {}),
    ...(flags.role ? { role: flags.role } : {}),
    ...(flags.timeout ? { timeoutS: secondsFlag("--timeout", flags.timeout) } : {}),
    ...(flags.force ? { force: true } : {}),
    ...(flags.retryFailed ? { retryFailed: "infra" as const } : {}),
    ...(opencodeConfig ? { opencodeConfig } : {}),
    ...(flags.workflow ? { workflowFile: flags.workflow } : {}),
    ...(flags.approveConfig ? { approveConfig: true } : {}),
    ...(flags.copy ? { copy: true } : {}),
    logging,
    engine: ctx.engine(),
    signal: ctx.signal,
    onEvent: (e) => {
      ({ progress, live } = showRunEvent(e, ctx, workers, { progress, live }));
    },
  }).finally(() => live.stop());
  ctx.out.result(result, (r) => [
    `${r.units} run(s) in ${r.seconds.toFixed(1)} s (${r.ran} ran, ${r.kept} kept): ${style.green(`${r.completed} complete`)}, ${r.agentFailed} agent failure(s), ${r.infraFailed} infrastructure failure(s), ${r.invalid.length} invalid task(s); workspace: ${r.workspace.why}`,
    `results in ${r.outputDir}; next: ocbox eval judge --model M --input ${r.outputDir}`,
  ]);
  return 0;
}

async function evalJudgeAction(ctx: Context, flags: JudgeFlags): Promise<number> {
  const workers = positiveInt("--workers", flags.workers, 1);
  const logging = settings(ctx, flags);
  const opencodeConfig = await opencodeConfigFrom(flags.opencodeConfig);
  let progress = new Progress(0, workers);
  let live = liveOutput(ctx, progress);
  const timeoutS = secondsFlag("--timeout", flags.timeout);
  const result = await runJudge({
    model: flags.model,
    inputDir: flags.input,
    workers,
    ...(flags.rerun ? { rerun: flags.rerun } : {}),
    ...(opencodeConfig ? { opencodeConfig } : {}),
    ...(timeoutS ? { timeoutS } : {}),
    ...(flags.approveConfig ? { approveConfig: true } : {}),
    logging,
    engine: ctx.engine(),
    signal: ctx.signal,
    onEvent: (e) => {
      ({ progress, live } = showJudgeEvent(e, ctx, workers, { progress, live }));
    },
  }).finally(() => live.stop());
  const t = result.summary.totals;
  ctx.out.result(result, (r) => [
    `judged ${r.judged}, cached ${r.cached}, judge failures ${r.failed}, infrastructure failures not judged ${r.skipped}`,
    `mean score ${t.score ? `${(t.score.mean * 100).toFixed(1)}% ± ${(t.score.spread * 100).toFixed(1)}` : "–"}, pass rate ${t.passRate ? `${(t.passRate.mean * 100).toFixed(1)}%` : "–"}, ${t.infraFailed} infrastructure failure(s), ${t.tokens.input + t.tokens.output} tokens, $${t.cost.toFixed(4)}`,
    `report: ${r.report}`,
  ]);
  return result.failed > 0 ? 1 : 0;
}

/** One event of the run on the terminal; a start event replaces the progress view. */
function showRunEvent(e: EvalEvent, ctx: Context, workers: number, view: LiveView): LiveView {
  let { progress, live } = view;
  switch (e.type) {
    case "start":
      live.stop();
      progress = new Progress(e.units, workers);
      for (let i = 0; i < e.kept; i++) progress.end(`kept-${i}`, true, false);
      live = liveOutput(ctx, progress);
      for (const w of e.warnings) live.log(`${style.yellow("warning")} ${w}`);
      for (const n of e.notices) live.log(`${style.yellow("note")} ${n}`);
      for (const bad of e.invalid)
        live.log(
          `${style.yellow("skipped invalid task")} ${bad.id}: ${bad.path}: ${bad.field}: ${bad.problem}`,
        );
      live.log(
        `${e.units} run(s): ${e.kept} already finished, ${e.todo} to do${e.resumed.length ? ` (${e.resumed.length} interrupted, rerun)` : ""}; ${e.invalid.length} invalid task(s) skipped; workspace: ${e.workspace.why}`,
      );
      live.milestone();
      return { progress, live };
    case "unit-start":
    case "phase":
    case "agent":
    case "container":
    case "trace":
      showUnitEvent(e, progress, live);
      return { progress, live };
    case "unit-end":
      progress.end(e.unit, e.result.outcome === "COMPLETE", e.record.infra);
      live.log(
        `${e.unit}: ${e.result.outcome}${e.result.failureReason ? ` (${e.result.failureReason})` : ""} in ${e.result.timings.total.toFixed(1)} s, ${e.result.sandbox} sandbox${e.record.check ? `, check exit ${e.record.check.exitCode}` : ""}${e.record.verifier ? `, reward ${e.record.verifier.reward ?? "none"}` : ""}`,
      );
      live.milestone();
      return { progress, live };
  }
}

/** One event of the judging on the terminal; a start event replaces the progress view. */
function showJudgeEvent(e: JudgeEvent, ctx: Context, workers: number, view: LiveView): LiveView {
  let { progress, live } = view;
  switch (e.type) {
    case "start":
      live.stop();
      progress = new Progress(e.todo, workers);
      live = liveOutput(ctx, progress);
      live.log(
        `${e.units} run(s): ${e.cached} verdict(s) cached, ${e.todo} to judge, ${e.skipped} infrastructure failure(s) not judged`,
      );
      return { progress, live };
    case "unit-start":
    case "phase":
    case "agent":
    case "container":
    case "trace":
      showUnitEvent(e, progress, live);
      return { progress, live };
    case "unit-end":
      if (e.cached) return { progress, live };
      progress.end(e.unit, e.record.grade !== null, false);
      live.log(
        e.record.grade
          ? `${e.unit}: score ${(e.record.grade.score * 100).toFixed(0)}%, ${e.record.grade.requirements.filter((r) => r.passed).length}/${e.record.grade.requirements.length} passed`
          : `${e.unit}: ${style.red("not judged")}: ${e.record.error ?? ""}`,
      );
      live.milestone();
      return { progress, live };
  }
}
