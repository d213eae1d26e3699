/**
 * `ocbox eval judge` as a library call (FEATURES F2, F3): for every finished unit of a run, a
 * judge agent in its own sandbox grades the solver's final workspace against the task's
 * requirements (or, for a Harbor task without `requirements.yaml`, its instruction), shown the
 * workspace's listing and the agent's session as fenced, capped, untrusted evidence
 * (judge-evidence.ts). The judge works on a temporary copy that is deleted afterwards and never synced
 * back, so the solver's output stays as it was. Verdicts are cached under
 * `<input>/judge-cache/<sha256(output digest, requirements digest, judge model, session digest)>.json`.
 */
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { OcboxError, errorMessage } from "../errors.js";
import type { ImageSet } from "../image/build.js";
import { planTask, reapOnce } from "../executor/prepare.js";
import { sharedPools, type Pools } from "../executor/pool.js";
import { executeTask } from "../executor/run-task.js";
import { WarmPool } from "../executor/warm-pool.js";
import { DockerEngine } from "../runtime/docker-engine.js";
import type { Engine } from "../runtime/engine.js";
import { startHeartbeat, streamAgentLog } from "./agent-log.js";
import { sha256, treeDigest } from "./digest.js";
import { readJudgeEvidence, type JudgeEvidence } from "./judge-input.js";
import { envByPrefixes, type LoggingSettings } from "./logging.js";
import { writeJson } from "./manifest.js";
import { loadRun, type LoadedUnit } from "./run-view.js";
import type { JudgeRecord } from "./verdict.js";
import { writeReport } from "./report-file.js";
import { writeSummary } from "./summary-file.js";
import type { Summary } from "./summary.js";
import type { UnitStreamEvent } from "./progress.js";
import { runWorkers, warmPoolMaxStarting, warmPoolSize } from "./units.js";
import { grade, gradedRequirements, judgeContract, judgePrompt } from "./verdict.js";
import { freshCopy } from "./workspace.js";

export type JudgeEvent =
  | { type: "start"; units: number; todo: number; cached: number; skipped: number }
  | UnitStreamEvent
  | { type: "unit-end"; unit: string; record: JudgeRecord; cached: boolean };

export interface JudgeOptions {
  model: string;
  inputDir: string;
  workers?: number;
  /** `missing` (default): only units without a cached verdict; `all`; or a task id / unit key. */
  rerun?: string;
  opencodeConfig?: Record<string, unknown>;
  /** `--approve-config`: approve (and record) the ocbox.yaml and opencode.json(c) found from the input dir. */
  approveConfig?: boolean;
  timeoutS?: number;
  logging: LoggingSettings;
  engine?: Engine;
  images?: ImageSet;
  pools?: Pools;
  /** Take sandboxes from the executor's warm pool (default true), as `runEval` does. */
  warmPool?: boolean;
  signal?: AbortSignal;
  onEvent?: (e: JudgeEvent) => void;
}

export interface JudgeRunResult {
  judged: number;
  cached: number;
  failed: number;
  skipped: number;
  summary: Summary;
  /** The run's report.html, written again with the verdicts. */
  report: string;
}

/** v2: the judge is also shown the agent's session (judge-evidence.ts), so its digest is part of the key. */
export function cacheKey(
  outputDigest: string,
  requirementsDigest: string,
  model: string,
  evidenceDigest: string,
): string {
  return sha256("ocbox-judge-v2", outputDigest, requirementsDigest, model, evidenceDigest);
}

const selected = (rerun: string, u: LoadedUnit) =>
  rerun === "all" || u.record.task === rerun || u.record.key === rerun;

interface JudgeWork {
  unit: LoadedUnit;
  key: string;
  evidence: JudgeEvidence;
}

/** The units to judge now; the others are infrastructure failures (skipped) or cached verdicts (written back). */
async function judgeWork(
  units: LoadedUnit[],
  cacheDir: string,
  model: string,
  rerun: string,
  emit: (e: JudgeEvent) => void,
): Promise<{ todo: JudgeWork[]; cached: number; skipped: number }> {
  const todo: JudgeWork[] = [];
  let cached = 0;
  let skipped = 0;
  for (const unit of units) {
    // An infrastructure failure has no agent output worth grading.
    if (unit.record.infra) {
      skipped++;
      continue;
    }
    const evidence = await readJudgeEvidence(unit.dir);
    const key = cacheKey(
      await treeDigest(join(unit.dir, "workspace")),
      sha256(JSON.stringify(gradedRequirements(unit.record.requirements))),
      model,
      evidence.digest,
    );
    const hit = await readFile(join(cacheDir, `${key}.json`), "utf8").then(
      (t) => JSON.parse(t) as JudgeRecord,
      () => undefined,
    );
    if (hit && !selected(rerun, unit)) {
      cached++;
      if (unit.judge?.cacheKey !== key) await writeJson(join(unit.dir, "judge.json"), hit);
      emit({ type: "unit-end", unit: unit.record.key, record: hit, cached: true });
      continue;
    }
    todo.push({ unit, key, evidence });
  }
  return { todo, cached, skipped };
}

export async function runJudge(options: JudgeOptions): Promise<JudgeRunResult> {
  const inputDir = resolve(options.inputDir);
  const emit = (e: JudgeEvent) => options.onEvent?.(e);
  const rerun = options.rerun ?? "missing";
  const run = await loadRun(inputDir);
  if (rerun !== "missing" && rerun !== "all" && !run.units.some((u) => selected(rerun, u)))
    throw new OcboxError("USAGE", `--rerun ${rerun}: no finished task or unit with that id`, {
      fix: "Give --rerun missing, all, a task id or a unit key (task#repeat).",
    });
  const cacheDir = join(inputDir, "judge-cache");
  await mkdir(cacheDir, { recursive: true, mode: 0o700 });

  const { todo, cached, skipped } = await judgeWork(run.units, cacheDir, options.model, rerun, emit);
  emit({ type: "start", units: run.units.length, todo: todo.length, cached, skipped });

  const engine = options.engine ?? new DockerEngine();
  await reapOnce(engine);
  let planned: ReturnType<typeof planTask> | undefined;
  const plan = () =>
    (planned ??= planTask({
      entry: "eval-judge",
      workspace: inputDir,
      model: options.model,
      contract: judgeContract,
      ...(options.approveConfig ? { approveConfig: true } : {}),
      ...(options.opencodeConfig ? { opencodeConfig: options.opencodeConfig } : {}),
      ...(options.timeoutS ? { timeouts: { hardS: options.timeoutS } } : {}),
      env: envByPrefixes(options.logging.extraEnvPrefixes, process.env),
      server: { logLevel: options.logging.serverLogLevel, printLogs: options.logging.printServerLogs },
      engine,
      ...(options.images ? { images: options.images } : {}),
      pools: options.pools ?? sharedPools,
    }));

  const workers = options.workers ?? 1;
  let warm: WarmPool | undefined;
  const warmPoolFor = (p: Awaited<ReturnType<typeof planTask>>): WarmPool | undefined => {
    // A profile with performance volumes (E11) always starts cold: no pool for it.
    if (options.warmPool === false || p.profile.cacheVolumes?.paths.length) return undefined;
    warm ??= new WarmPool(engine, p.profile, {
      size: warmPoolSize(workers, todo.length, availableParallelism()),
      limit: todo.length,
      // As for `eval run`: a batch waits on throughput, and the warm-up prompt costs CPU.
      warmUpPrompt: false,
      maxStarting: warmPoolMaxStarting(availableParallelism()),
      onLine: (line) => emit({ type: "trace", unit: "warm-pool", line }),
    });
    warm.fill();
    return warm;
  };

  // The judge model is checked before any sandbox starts: an unknown provider is exit 2.
  if (todo.length) await plan();

  let judged = 0;
  let failed = 0;
  try {
    await runWorkers(todo, workers, async (work) => {
      const { unit, key } = work;
      if (options.signal?.aborted) return;
      const name = unit.record.key;
      emit({ type: "unit-start", unit: name });
      const planned = await plan();
      const record = await judgeUnit(work, planned, warmPoolFor(planned), options, (e) => emit(e));
      if (record.grade) {
        judged++;
        await writeJson(join(cacheDir, `${key}.json`), record);
      } else failed++;
      await writeJson(join(unit.dir, "judge.json"), record);
      emit({ type: "unit-end", unit: name, record, cached: false });
    });
  } catch (e) {
    if (!options.signal?.aborted) throw e;
  } finally {
    await warm?.close();
  }
  if (options.signal?.aborted)
    throw new OcboxError("INTERRUPTED", "interrupted; verdicts so far are cached, re-run to judge the rest");
  const summary = await writeSummary(inputDir, options.model);
  const report = await writeReport(inputDir);
  return { judged, cached, failed, skipped, summary, report };
}

async function judgeUnit(
  { unit, key, evidence }: JudgeWork,
  plan: Awaited<ReturnType<typeof planTask>>,
  warmPool: WarmPool | undefined,
  options: JudgeOptions,
  emit: (e: JudgeEvent) => void,
): Promise<JudgeRecord> {
  const name = unit.record.key;
  const scratch = await mkdtemp(join(tmpdir(), "ocbox-judge-"));
  const copy = join(scratch, "workspace");
  const log = options.logging;
  const base = { model: options.model, cacheKey: key, judgedAt: new Date().toISOString() };
  try {
    await freshCopy(join(unit.dir, "workspace"), copy);
    const result = await executeTask(plan, {
      workspace: copy,
      prompt: judgePrompt({
        prompt: unit.record.prompt,
        requirements: gradedRequirements(unit.record.requirements),
        listing: evidence.listing,
        session: evidence.session,
      }),
      taskId: `judge-${unit.record.task}-r${unit.record.repeat}`,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.pools ? { pools: options.pools } : {}),
      ...(warmPool ? { warmPool } : {}),
      onEvent: (e) => {
        if (e.phase === "log") {
          if (log.streamContainerLogs) emit({ type: "container", unit: name, line: e.message });
        } else emit({ type: "phase", unit: name, phase: e.phase, message: e.message });
      },
      onSession: (s) => {
        const stops = [
          log.agentLogs
            ? streamAgentLog(s.client, s.sessionId, (line) => emit({ type: "agent", unit: name, line }))
            : undefined,
          log.verbose
            ? startHeartbeat(s.client, s.sessionId, (line) => emit({ type: "trace", unit: name, line }))
            : undefined,
        ];
        return () => stops.forEach((stop) => stop?.());
      },
    });
    const tokens = result.tokens.input + result.tokens.output + result.tokens.reasoning;
    const verdicts = (result.contract as { verdicts?: unknown[] } | null)?.verdicts;
    if (!verdicts)
      return {
        ...base,
        grade: null,
        error: `the judge gave no verdicts: ${result.failureReason ?? result.outcome}${result.hint ? ` (${result.hint})` : ""}`,
        tokens,
        cost: result.cost,
      };
    return {
      ...base,
      grade: grade(gradedRequirements(unit.record.requirements), verdicts),
      error: null,
      tokens,
      cost: result.cost,
    };
  } catch (e) {
    if (options.signal?.aborted) throw e;
    return { ...base, grade: null, error: errorMessage(e), tokens: 0, cost: 0 };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
