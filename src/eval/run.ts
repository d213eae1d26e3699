/**
 * `ocbox eval run` as a library call (FEATURES F1, F3–F9): every task × repeat through the
 * executor in its own sandbox, N workers in one process sharing the executor's pools, a journal
 * for resume, and one folder per unit:
 *
 *   <output>/manifest.json, journal.jsonl, summary.json
 *   <output>/tasks/<id>/r<k>/{workspace/, diff.patch, result.json, unit.json, session.json}
 *
 * The agent works on `agent-workspace/`, a copy of the task's app; its work is copied back into
 * `workspace/` through copy-back.ts (masked modes, size caps) whether its sandbox was warm or cold,
 * and `agent-workspace/` is removed, unless that copy failed. Dirs are 0700, files 0600.
 */
import { chmod, mkdir, readdir, rm } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { join, resolve } from "node:path";
import { OcboxError, errorMessage } from "../errors.js";
import type { ImageSet } from "../image/build.js";
import { OPENCODE_VERSION } from "../image/opencode-binary.js";
import { DEFAULT_TIMEOUTS } from "../plan/timeouts.js";
import { planTask, reapOnce, type RunTaskOptions } from "../executor/prepare.js";
import { sharedPools, type Pools } from "../executor/pool.js";
import { executeTask, type AgentSession, type TaskEvent } from "../executor/run-task.js";
import type { TaskPlan } from "../executor/task-plan.js";
import { WarmPool } from "../executor/warm-pool.js";
import type { TaskResult } from "../executor/task.js";
import { DockerEngine } from "../runtime/docker-engine.js";
import { DEFAULT_COPY_BACK_CAPS, describeLeftOut } from "../sandbox/copy-back-policy.js";
import type { Engine } from "../runtime/engine.js";
import { OCBOX_VERSION } from "../version.js";
import { startHeartbeat, streamAgentLog } from "./agent-log.js";
import { Journal, journalState, readJournal } from "./journal.js";
import { envByPrefixes, type LoggingSettings } from "./logging.js";
import {
  configChanges,
  configDigest,
  readManifest,
  writeJson,
  manifestTask,
  manifestWorkspace,
  type ManifestWorkspace,
  MANIFEST,
  type Manifest,
  type RunConfig,
} from "./manifest.js";
import { recordSession } from "./session-export.js";
import { writeReport } from "./report-file.js";
import { writeSummary } from "./summary-file.js";
import { loadTaskSet, type InvalidTask, type TaskDef } from "./task-set.js";
import { scaleTaskTimeouts } from "./task-timeouts.js";
import { StepTimer } from "./unit-steps.js";
import type { CheckOutcome, UnitRecord } from "./unit-record.js";
import type { UnitStreamEvent } from "./progress.js";
import { planUnits, runWorkers, warmPoolMaxStarting, warmPoolSize, type Unit } from "./units.js";
import { withModelProviders } from "../executor/task-sandbox-spec.js";
import { bringBack, freshCopy } from "./workspace.js";
import { harborApprovalFiles, prepareHarborTasks, type HarborEnvironment } from "./harbor-prepare.js";
import { harborPlan, harborTaskWarnings, runHarborWith } from "./harbor-run-unit.js";
import { infraResult, writeUnitFiles } from "./unit-files.js";

export type EvalEvent =
  | {
      type: "start";
      units: number;
      todo: number;
      kept: number;
      resumed: string[];
      invalid: InvalidTask[];
      /** What reading the journal dropped (a line cut short by a crash), and each Harbor task's sandbox WARNINGs. */
      warnings: string[];
      /** Per Harbor task, once: what its task.toml asks that ocbox does not apply. */
      notices: string[];
      /** Bind mount or copy, and why (also in the manifest). */
      workspace: ManifestWorkspace;
    }
  | UnitStreamEvent
  | { type: "unit-end"; unit: string; result: TaskResult; record: UnitRecord };

export interface EvalRunOptions {
  model: string;
  tasksDir: string;
  outputDir: string;
  workers?: number;
  repeat?: number;
  filter?: string;
  /** Only the first N task folders (in id order) that match the filter. */
  limit?: number;
  role?: string;
  /** Hard cap per task (seconds), unless task.yaml says otherwise. */
  timeoutS?: number;
  /** Scales every timeout (the task's own, else `timeoutS`, else the default cap); default 1. */
  timeoutMultiplier?: number;
  force?: boolean;
  retryFailed?: "infra";
  opencodeConfig?: Record<string, unknown>;
  workflowFile?: string;
  /** `--approve-config`: approve (and record) the task set's ocbox.yaml and opencode.json(c). `tasksDir` alone approves nothing. */
  approveConfig?: boolean;
  /** `--copy`: copy each unit's workspace in and sync it back (issue 14), whatever the engine sees. */
  copy?: boolean;
  logging: LoggingSettings;
  engine?: Engine;
  images?: ImageSet;
  pools?: Pools;
  /**
   * Take sandboxes from the executor's warm pool (default true): as many ready as there are
   * workers, started while the units before them work, and never more than the units to run.
   */
  warmPool?: boolean;
  /** How many warm sandboxes to keep ready (default: one per worker, plus one while a core is spare). */
  warmPoolSize?: number;
  /**
   * At most this many warm sandboxes starting or running a unit at once (for example the host's
   * cores): a refill waits for a unit to end instead of competing with the running agents.
   * Default: no gate (refills start as soon as a sandbox is taken). Not measured yet: a unit's
   * wait for a gated refill counts against its own timeout.
   */
  warmPoolMaxBusy?: number;
  /**
   * Send each warm sandbox the pool's throwaway warm-up prompt (WarmPoolOptions.warmUpPrompt).
   * Default false here: it brings a unit's first model request 1-2 s sooner but costs each unit
   * about 0.5 s more CPU, and a batch's throughput, not one unit's start, is what an eval waits on.
   */
  warmUpPrompt?: boolean;
  /**
   * At most this many warm sandboxes starting at once (WarmPoolOptions.maxStarting); default one
   * per core (units.ts warmPoolMaxStarting).
   */
  warmPoolMaxStarting?: number;
  /** `--oracle`: Harbor tasks run solution/solve.sh in the agent's place (no model), then the verifier. */
  oracle?: boolean;
  signal?: AbortSignal;
  onEvent?: (e: EvalEvent) => void;
}

export interface EvalRunResult {
  outputDir: string;
  units: number;
  ran: number;
  kept: number;
  completed: number;
  agentFailed: number;
  infraFailed: number;
  invalid: InvalidTask[];
  seconds: number;
  /** Bind mount or copy, and why (the manifest's `workspace`). */
  workspace: ManifestWorkspace;
  /** The run's report.html, written at the end (as `ocbox eval report` writes it). */
  report: string;
}

const JOURNAL = "journal.jsonl";

export async function openOutput(
  options: EvalRunOptions,
  config: RunConfig,
  tasks: TaskDef[],
  invalid: InvalidTask[],
  extra: { taskWarnings?: Record<string, string[]>; workspace: ManifestWorkspace },
) {
  const taskWarnings = extra.taskWarnings ?? {};
  const out = options.outputDir;
  // Workspaces and transcripts may hold secrets the agent printed: the output is the user's alone.
  await mkdir(out, { recursive: true, mode: 0o700 });
  await chmod(out, 0o700);
  const old = await readManifest(out);
  if (!old) {
    const entries = await readdir(out);
    if (entries.length > 0 && !options.force)
      throw new OcboxError("USAGE", `the output dir ${out} is not empty and holds no eval run`, {
        fix: "Give --output a new or empty folder, or pass --force to use it anyway.",
      });
  }
  const changes = old ? configChanges(old.config, config) : [];
  for (const t of tasks) {
    const before = old?.tasks[t.id]?.digest;
    if (before && before !== t.digest) changes.push(`task ${t.id} changed since the last run`);
  }
  if (changes.length && !options.force)
    throw new OcboxError("USAGE", `the run in ${out} was started with another config`, {
      detail: changes.join("\n"),
      fix: "Re-run with the same flags to resume, pass --force to continue with the new config (changed tasks rerun), or use a new --output.",
    });
  const now = new Date().toISOString();
  const manifest: Manifest = {
    kind: "ocbox-eval-run",
    version: 1,
    config,
    workspace: extra.workspace,
    ocbox: OCBOX_VERSION,
    opencode: OPENCODE_VERSION,
    createdAt: old?.createdAt ?? now,
    updatedAt: now,
    tasks: { ...(old?.tasks ?? {}), ...Object.fromEntries(tasks.map((t) => [t.id, manifestTask(t)])) },
    invalid,
    ...(Object.keys(taskWarnings).length ? { taskWarnings } : {}),
  };
  await writeJson(join(out, MANIFEST), manifest);
  return manifest;
}

/** One unit: its begin line, the run, its files, its end line (an interrupt leaves an interrupt line). */
async function runAndJournal(
  unit: Unit,
  run: {
    planFor: (task: TaskDef) => Promise<TaskPlan>;
    poolFor: (p: TaskPlan) => WarmPool | undefined;
    outputDir: string;
    options: EvalRunOptions;
    journal: Journal;
    counts: ReturnType<typeof keptCounts>;
    environments: Map<string, HarborEnvironment> | undefined;
  },
): Promise<void> {
  const { planFor, outputDir, options, journal, counts } = run;
  const unitRunner = unit.task.harbor ? runHarborWith(run.environments) : runUnit;
  const emit = (e: EvalEvent) => options.onEvent?.(e);
  if (options.signal?.aborted) return;
  journal.append({ type: "begin", at: new Date().toISOString(), unit: unit.key });
  emit({ type: "unit-start", unit: unit.key });
  let ran: Awaited<ReturnType<typeof runUnit>>;
  try {
    ran = await unitRunner(unit, () => planFor(unit.task), run.poolFor, outputDir, options);
  } catch (e) {
    // The unit's sandbox is gone (executeTask removes it before it throws); it reruns at the next start.
    if (options.signal?.aborted)
      journal.append({ type: "interrupt", at: new Date().toISOString(), unit: unit.key });
    throw e;
  }
  const { result, record } = ran;
  counts.ran++;
  if (record.infra) counts.infraFailed++;
  else if (result.outcome === "COMPLETE") counts.completed++;
  else counts.agentFailed++;
  journal.append({
    type: "end",
    at: record.finishedAt,
    unit: unit.key,
    digest: unit.task.digest,
    outcome: result.outcome,
    failureReason: result.failureReason,
    infra: record.infra,
  });
  emit({ type: "unit-end", unit: unit.key, result, record });
}

/** The journal read back (what is done, what is left) and opened for this run's lines. */
async function openJournal(
  outputDir: string,
  tasks: TaskDef[],
  config: RunConfig,
  options: EvalRunOptions,
): Promise<{
  state: ReturnType<typeof journalState>;
  plan: ReturnType<typeof planUnits> & { warnings: string[] };
  journal: Journal;
}> {
  const journalFile = join(outputDir, JOURNAL);
  const warnings: string[] = [];
  const state = journalState(await readJournal(journalFile, (w) => warnings.push(w)));
  const plan = planUnits(tasks, config.repeat, state, { retryInfra: options.retryFailed === "infra" });
  const journal = new Journal(journalFile);
  journal.append({
    type: "open",
    at: new Date().toISOString(),
    pid: process.pid,
    configDigest: configDigest(config),
  });
  return { state, plan: { ...plan, warnings }, journal };
}

/**
 * The run's one warm pool, made for the first task plan that can use one. Its sandboxes' models
 * file holds the providers of every model the run's units name (task.yaml `model`, else the run's),
 * so that a unit of another provider than the first still takes a warm sandbox.
 */
function warmPoolFactory(
  engine: Engine,
  options: EvalRunOptions,
  workers: number,
  units: readonly Unit[],
): { poolFor: (p: TaskPlan) => WarmPool | undefined; close: () => Promise<void> } {
  const todo = units.length;
  const runProviders = [...new Set(units.flatMap((u) => providerOf(u.task.config.model ?? options.model)))];
  const emit = (e: EvalEvent) => options.onEvent?.(e);
  let warm: WarmPool | undefined;
  const poolFor = (p: TaskPlan): WarmPool | undefined => {
    // A profile with performance volumes (E11), or a task's own image, always starts cold.
    if (options.warmPool === false || p.profile.cacheVolumes?.paths.length || p.profile.taskImage)
      return undefined;
    warm ??= new WarmPool(engine, withModelProviders(p.profile, runProviders), {
      size: Math.min(options.warmPoolSize ?? warmPoolSize(workers, todo, availableParallelism()), todo),
      limit: todo,
      ...(options.warmPoolMaxBusy !== undefined ? { maxBusy: options.warmPoolMaxBusy } : {}),
      warmUpPrompt: options.warmUpPrompt ?? false,
      maxStarting: options.warmPoolMaxStarting ?? warmPoolMaxStarting(availableParallelism()),
      onLine: (line) => emit({ type: "trace", unit: "warm-pool", line }),
    });
    warm.fill();
    return warm;
  };
  return { poolFor, close: async () => await warm?.close() };
}

/** The provider of a `provider/model` name (none when there is no model). */
const providerOf = (model: string | undefined): string[] => {
  const slash = model?.indexOf("/") ?? -1;
  return model && slash > 0 ? [model.slice(0, slash)] : [];
};

/** The counts of the units a resumed run keeps from before. */
function keptCounts(
  kept: readonly Unit[],
  state: ReturnType<typeof journalState>,
): { completed: number; agentFailed: number; infraFailed: number; ran: number } {
  const counts = { completed: 0, agentFailed: 0, infraFailed: 0, ran: 0 };
  for (const u of kept) {
    const done = state.finished.get(u.key);
    if (done?.infra) counts.infraFailed++;
    else if (done?.outcome === "COMPLETE") counts.completed++;
    else counts.agentFailed++;
  }
  return counts;
}

/** The task set, filtered and limited, every timeout scaled; the run's own cap, scaled too. */
async function loadRunnableTasks(
  tasksDir: string,
  options: EvalRunOptions,
): Promise<{ tasks: TaskDef[]; invalid: InvalidTask[]; runCap: number | undefined }> {
  const f = options.timeoutMultiplier ?? 1;
  const loaded = await loadTaskSet(tasksDir, { filter: options.filter, limit: options.limit });
  const { invalid } = loaded;
  const tasks = loaded.tasks.map((t) => scaleTaskTimeouts(t, f));
  if (tasks.length === 0 && invalid.length === 0) throw noTasks(tasksDir, options.filter);
  const runCap = f === 1 ? options.timeoutS : (options.timeoutS ?? DEFAULT_TIMEOUTS.hardS) * f;
  return { tasks, invalid, runCap };
}

/**
 * The run's planner per task, checked once with the run's own model and role before anything is
 * written or started (an unknown provider is a usage error, exit 2, not a batch of INFRASTRUCTURE
 * results); Harbor tasks' files approved with the rest, then their images and the payload made.
 */
async function plannedTasks(
  options: EvalRunOptions,
  run: { tasksDir: string; engine: Engine; tasks: TaskDef[]; runCap: number | undefined },
) {
  const pools = options.pools ?? sharedPools;
  const harborTasks = run.tasks.filter((t) => t.harbor);
  const taskFiles = await harborApprovalFiles(harborTasks);
  const planWith = taskPlanner({ ...options, taskFiles }, run.tasksDir, run.engine, pools);
  const first = await planWith(options.model, options.role, run.runCap);
  const harbor = harborTasks.length
    ? await prepareHarborTasks(run.engine, harborTasks, {
        sandboxImage: first.images.sandbox.tag,
        signal: options.signal,
        onLine: (task, line) => options.onEvent?.({ type: "trace", unit: task, line }),
      })
    : undefined;
  const planFor = (task: TaskDef): Promise<TaskPlan> =>
    planWith(
      task.config.model ?? options.model,
      task.config.role ?? options.role,
      task.config.timeoutS ?? run.runCap,
      task.config.inactivityS,
    ).then((p) => (task.harbor ? harborPlan(p, task, harbor?.environments) : p));
  return {
    planFor,
    harbor,
    taskWarnings: harborTaskWarnings(first, harborTasks, harbor?.environments),
    runtime: first.profile.hardening?.runtime ?? "default",
    workspace: manifestWorkspace(first.profile),
  };
}

/** A Harbor task its own image proves wrong (an [agent].user it does not have) is invalid too. */
function withImageProblems(
  loaded: { tasks: TaskDef[]; invalid: InvalidTask[] },
  environments: Map<string, HarborEnvironment> | undefined,
): { tasks: TaskDef[]; invalid: InvalidTask[] } {
  const byImage = [...(environments?.values() ?? [])].flatMap((e) => (!e.ok && e.invalid ? [e.invalid] : []));
  return {
    tasks: loaded.tasks.filter((t) => !byImage.some((i) => i.id === t.id)),
    invalid: [...loaded.invalid, ...byImage],
  };
}

/** The settings of a run that change its results (the manifest's config, digested on resume). */
function runConfigOf(options: EvalRunOptions, tasksDir: string, repeat: number, runtime: string): RunConfig {
  return {
    model: options.model,
    tasksDir,
    repeat,
    filter: options.filter ?? null,
    role: options.role ?? null,
    timeoutS: options.timeoutS ?? null,
    limit: options.limit ?? null,
    timeoutMultiplier: options.timeoutMultiplier ?? null,
    oracle: options.oracle === true,
    runtime,
  };
}

export async function runEval(options: EvalRunOptions): Promise<EvalRunResult> {
  const t0 = performance.now();
  const tasksDir = resolve(options.tasksDir);
  const outputDir = resolve(options.outputDir);
  const repeat = options.repeat ?? 1;
  const emit = (e: EvalEvent) => options.onEvent?.(e);
  const engine = options.engine ?? new DockerEngine();
  // Leftovers of a killed run go first, so a resume never finds the old containers.
  await reapOnce(engine);

  const loaded = await loadRunnableTasks(tasksDir, options);
  const planned = await plannedTasks(options, { tasksDir, engine, ...loaded });
  const { planFor, harbor, taskWarnings } = planned;
  const { tasks, invalid } = withImageProblems(loaded, harbor?.environments);

  const config = runConfigOf(options, tasksDir, repeat, planned.runtime);
  const workspace = planned.workspace;
  await openOutput({ ...options, outputDir }, config, tasks, invalid, { taskWarnings, workspace });
  const { state, plan, journal } = await openJournal(outputDir, tasks, config, options);
  emit({
    type: "start",
    units: plan.todo.length + plan.kept.length,
    todo: plan.todo.length,
    kept: plan.kept.length,
    resumed: plan.resumed,
    invalid,
    // Journal problems, then each Harbor task's sandbox WARNINGs (root tasks), once per task.
    warnings: [
      ...plan.warnings,
      ...Object.entries(taskWarnings).flatMap(([id, lines]) => lines.map((l) => `${id}: ${l}`)),
    ],
    notices: tasks.flatMap((t) => (t.harbor?.notices ?? []).map((n) => `${t.id}: ${n}`)),
    workspace,
  });

  const workers = options.workers ?? 1;
  const warm = warmPoolFactory(engine, options, workers, plan.todo);

  const counts = keptCounts(plan.kept, state);

  try {
    await runWorkers(plan.todo, workers, (unit) =>
      runAndJournal(unit, {
        planFor,
        poolFor: warm.poolFor,
        outputDir,
        options,
        journal,
        counts,
        environments: harbor?.environments,
      }),
    );
  } catch (e) {
    // An interrupt ends the units in flight with their own error; the run says what to do next.
    if (!options.signal?.aborted) throw e;
  } finally {
    journal.close();
    await warm.close();
  }
  if (options.signal?.aborted)
    throw new OcboxError(
      "INTERRUPTED",
      "interrupted; finished tasks are kept, re-run the same command to resume",
    );
  await writeSummary(outputDir);
  const report = await writeReport(outputDir);
  return {
    outputDir,
    report,
    units: plan.todo.length + plan.kept.length,
    ran: counts.ran,
    kept: plan.kept.length,
    completed: counts.completed,
    agentFailed: counts.agentFailed,
    infraFailed: counts.infraFailed,
    invalid,
    workspace,
    seconds: (performance.now() - t0) / 1000,
  };
}

async function runUnit(
  unit: Unit,
  planned: () => Promise<TaskPlan>,
  warmPoolFor: (plan: TaskPlan) => WarmPool | undefined,
  outputDir: string,
  options: EvalRunOptions,
): Promise<{ result: TaskResult; record: UnitRecord }> {
  const dir = join(outputDir, unit.dir);
  const workspace = join(dir, "workspace");
  const scratch = join(dir, "agent-workspace");
  const steps = new StepTimer();
  const emit = (e: EvalEvent) => options.onEvent?.(e);
  const log = options.logging;
  const trace = (line: string) => log.verbose && emit({ type: "trace", unit: unit.key, line });
  await steps.time("copy-in", () => freshUnitDir(unit, dir, scratch, emit));
  let caps = DEFAULT_COPY_BACK_CAPS;
  let check: CheckOutcome | null = null;
  let exported: unknown;
  let recorder: ReturnType<typeof recordSession> | undefined;
  const started = performance.now();
  let modelName = unit.task.config.model ?? options.model;

  const afterAgent = async (s: AgentSession) => {
    check = await steps.time("check", () => runCheck(unit, s, emit));
    exported = await steps.time("export", async () =>
      recorder?.export().catch((e: unknown) => ({ error: errorMessage(e) })),
    );
    recorder?.stop();
  };

  let result: TaskResult;
  try {
    // A task whose plan fails (task.yaml names an unknown model) fails alone, as infrastructure.
    const plan = await planned();
    caps = plan.profile.copyBack ?? caps;
    if (plan.model) modelName = `${plan.model.providerID}/${plan.model.modelID}`;
    const warmPool = warmPoolFor(plan);
    const t = performance.now();
    result = await executeTask(plan, {
      workspace: scratch,
      prompt: unit.task.prompt,
      taskId: `${unit.task.id}-r${unit.repeat}`,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.pools ? { pools: options.pools } : {}),
      ...(warmPool ? { warmPool } : {}),
      onEvent: (e) => taskEvent(unit, e, log, emit),
      onSession: (s) => {
        trace(
          `call start: model ${modelName}, port ${s.port}, timeout ${plan.timeouts.hardS} s, workspace ${workspace}, session ${s.sessionId}`,
        );
        recorder = recordSession(s.client, s.sessionId);
        const stops = [
          log.agentLogs
            ? streamAgentLog(s.client, s.sessionId, (line) => emit({ type: "agent", unit: unit.key, line }))
            : undefined,
          log.verbose ? startHeartbeat(s.client, s.sessionId, (line) => trace(line)) : undefined,
        ];
        return () => {
          for (const stop of stops) stop?.();
          trace(`call stop: model ${modelName}, ${((performance.now() - started) / 1000).toFixed(1)} s`);
        };
      },
      afterAgent,
    });
    // The task's own span: what `runTask` would take; the check and the export are timed apart.
    const inside = (steps.snapshot().check ?? 0) + (steps.snapshot().export ?? 0);
    steps.add("task", (performance.now() - t) / 1000 - inside);
  } catch (e) {
    if (options.signal?.aborted) throw e;
    // An executor exception here is not the agent's doing (the server broke, the engine failed).
    result = infraResult(errorMessage(e), (performance.now() - started) / 1000);
  }
  const back = result;
  result = await steps.time("copy-back", () => bringBack(scratch, workspace, back, caps));

  const record = await writeUnitFiles(unit, dir, { result, check, exported, steps });
  return { result, record };
}

/** The unit's dir made afresh, with the agent's copy of the task's app in it. */
async function freshUnitDir(unit: Unit, dir: string, scratch: string, emit: (e: EvalEvent) => void) {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const appLeftOut = await freshCopy(unit.task.app, scratch);
  if (appLeftOut.length)
    emit({ type: "trace", unit: unit.key, line: `app/ copied without ${describeLeftOut(appLeftOut)}` });
}

/** An executor event as the eval's: container log lines when asked for, phases always. */
function taskEvent(unit: Unit, e: TaskEvent, log: LoggingSettings, emit: (e: EvalEvent) => void): void {
  if (e.phase === "log") {
    if (log.streamContainerLogs) emit({ type: "container", unit: unit.key, line: e.message });
    return;
  }
  emit({ type: "phase", unit: unit.key, phase: e.phase, message: e.message });
  if (log.verbose) emit({ type: "trace", unit: unit.key, line: `phase ${e.phase}: ${e.message}` });
}

/** The task's check command in the agent's container, once the agent has ended; null without one. */
async function runCheck(
  unit: Unit,
  s: AgentSession,
  emit: (e: EvalEvent) => void,
): Promise<CheckOutcome | null> {
  const c = unit.task.config.check;
  if (!c) return null;
  emit({ type: "phase", unit: unit.key, phase: "check", message: c.command });
  const t = performance.now();
  const r = await s.exec(["timeout", String(c.timeoutS), "sh", "-c", `cd /workspace && ${c.command}`]);
  return {
    command: c.command,
    exitCode: r.exitCode,
    seconds: (performance.now() - t) / 1000,
    output: `${r.stdout}${r.stderr}`.slice(-4096),
  };
}

/** The options an eval task is planned with (the planner's `eval-run` entry point). */
export function evalTaskOptions(
  options: Pick<EvalRunOptions, "workflowFile" | "opencodeConfig" | "logging" | "approveConfig" | "copy"> & {
    taskFiles?: RunTaskOptions["taskFiles"];
  },
  tasksDir: string,
  task: {
    model: string;
    role?: string | undefined;
    hardS?: number | undefined;
    inactivityS?: number | undefined;
  },
): RunTaskOptions {
  const { model, role, hardS, inactivityS } = task;
  return {
    entry: "eval-run",
    workspace: tasksDir,
    model,
    ...(role ? { role } : {}),
    ...(options.workflowFile ? { workflowFile: options.workflowFile } : {}),
    ...(options.opencodeConfig ? { opencodeConfig: options.opencodeConfig } : {}),
    ...(options.approveConfig ? { approveConfig: true } : {}),
    ...(options.copy ? { copy: true } : {}),
    ...(options.taskFiles?.length ? { taskFiles: options.taskFiles } : {}),
    timeouts: {
      ...(hardS !== undefined ? { hardS } : {}),
      ...(inactivityS !== undefined ? { inactivityS } : {}),
    },
    env: envByPrefixes(options.logging.extraEnvPrefixes, process.env),
    server: { logLevel: options.logging.serverLogLevel, printLogs: options.logging.printServerLogs },
  };
}

/** Plans by model, role and timeouts, each made once (planTask checks the model and the role). */
function taskPlanner(
  options: EvalRunOptions & { taskFiles?: RunTaskOptions["taskFiles"] },
  tasksDir: string,
  engine: Engine,
  pools: Pools,
) {
  const plans = new Map<string, Promise<TaskPlan>>();
  return (model: string, role?: string, hardS?: number, inactivityS?: number): Promise<TaskPlan> => {
    const key = JSON.stringify([model, role, hardS, inactivityS]);
    let p = plans.get(key);
    if (!p) {
      p = planTask({
        ...evalTaskOptions(options, tasksDir, { model, role, hardS, inactivityS }),
        engine,
        ...(options.images ? { images: options.images } : {}),
        pools,
      });
      plans.set(key, p);
    }
    return p;
  };
}

export function noTasks(tasksDir: string, filter: string | undefined): OcboxError {
  if (filter)
    return new OcboxError("USAGE", `no task in ${tasksDir} matches --filter ${filter}`, {
      fix: "Check the task ids (the sub-folder names) and the globs in --filter.",
    });
  return new OcboxError("USAGE", `${tasksDir} holds no task`, {
    detail:
      "A task is a sub-folder in ocbox's format (prompt.md and requirements.yaml) or Harbor's (task.toml, instruction.md, environment/, tests/).",
    fix: "Give --tasks the folder whose sub-folders are the tasks (tasks/<id>/prompt.md, or tasks/<id>/task.toml for a Harbor dataset).",
  });
}
