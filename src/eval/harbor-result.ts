/**
 * Harbor-compatible results (issue 15 item 6), so scores can be compared with Harbor's own runs
 * and read by its tools. Harbor writes a job as `<job>/result.json` (its JobResult) and one
 * folder per trial, `<job>/<trial>/result.json` (its TrialResult) and `config.json` (its
 * TrialConfig). ocbox's unit folder already has a `result.json` (the executor's TaskResult), so
 * the Harbor job lives beside it in `OUT/harbor/`: one trial folder per unit of a Harbor task,
 * named `<task>__r<k>`. The fields follow Harbor's pydantic models (models/trial/result.py,
 * models/trial/config.py, models/job/result.py, models/agent/context.py,
 * models/verifier/result.py): what its job stats and viewer read is filled (`agent_info`,
 * `verifier_result.rewards`, `exception_info.exception_type`, `agent_result` tokens and cost,
 * the phase timings, `source`); unknown fields are ignored by pydantic. harbor-result-schema.ts
 * checks this against Harbor's models. Pure.
 */
import { createHash } from "node:crypto";
import { z } from "zod";
import type { TaskResult } from "../executor/task.js";
import { passAtKs } from "./pass-at-k.js";
import type { UnitRecord } from "./unit-record.js";

/** The Harbor job folder inside an ocbox output dir. */
export const HARBOR_DIR = "harbor";
export const AGENT_NAME = "opencode";
/** The unit's session.json, linked into its trial folder under this name. */
export const TRIAL_SESSION = "session.json";

export interface HarborTrialInput {
  record: UnitRecord;
  result: TaskResult;
  /** The task folder (Harbor's LocalTaskId path). */
  taskDir: string;
  /** The Harbor job folder (`OUT/harbor`). */
  jobDir: string;
  /** `provider/model` of the run. */
  model: string;
  opencodeVersion: string;
  timeoutMultiplier: number;
  /** The job's id (a UUID made from the output dir's creation). */
  jobId: string;
}

/** A UUID made from text (its sha256), so a rewritten result keeps its id. */
export function stableUuid(text: string): string {
  const h = createHash("sha256").update(text).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * Harbor's trial folder name for a unit: `<task>__r<k>` (Harbor: `<task[:32]>__<7 random>`; the
 * whole task id here, since two ids may share their first 32 characters).
 */
export function trialName(task: string, repeat: number): string {
  return `${task}__r${repeat}`;
}

/** Phase seconds the Harbor runner records in unit.json (`timings`), read if present. */
const phaseTimingsSchema = z
  .object({
    environmentBuild: z.number().finite().nonnegative(),
    agentSetup: z.number().finite().nonnegative(),
    agent: z.number().finite().nonnegative(),
    verifier: z.number().finite().nonnegative(),
  })
  .partial();

interface Span {
  started_at: string;
  finished_at: string;
}

/** The phases laid back from the unit's end: setup, agent setup, agent, verifier. */
function spans(record: UnitRecord, result: TaskResult) {
  const t = phaseTimingsSchema.safeParse((record as { timings?: unknown }).timings);
  const p = t.success ? t.data : {};
  const secs = [
    p.environmentBuild ?? 0,
    p.agentSetup ?? result.timings.sandbox,
    p.agent ?? result.timings.agent,
    p.verifier ?? record.verifier?.seconds ?? 0,
  ];
  const end = Date.parse(record.finishedAt);
  const total = secs.reduce((a, b) => a + b, 0);
  let at = end - total * 1000;
  const out: Span[] = secs.map((s) => {
    const span = {
      started_at: new Date(at).toISOString(),
      finished_at: new Date(at + s * 1000).toISOString(),
    };
    at += s * 1000;
    return span;
  });
  return { started: new Date(end - total * 1000).toISOString(), finished: record.finishedAt, phases: out };
}

/** Harbor's exception type for what went wrong, or undefined when the trial ran to its end. */
function exceptionType(record: UnitRecord, result: TaskResult): string | undefined {
  const reason = result.failureReason;
  if (reason === "TIMEOUT" || reason === "INACTIVITY") return "AgentTimeoutError";
  if (record.infra) return `OcboxInfrastructureError`;
  const problem = record.verifier?.problem;
  if (problem !== undefined) {
    if (/timed? ?out|timeout/i.test(problem)) return "VerifierTimeoutError";
    if (/neither|missing|not there/i.test(problem)) return "RewardFileNotFoundError";
    return "VerifierOutputParseError";
  }
  return undefined;
}

function exceptionInfo(record: UnitRecord, result: TaskResult) {
  const type = exceptionType(record, result);
  if (!type) return null;
  const message = record.verifier?.problem ?? result.hint ?? result.failureReason ?? result.outcome;
  return {
    exception_type: type,
    exception_message: message,
    exception_traceback: "",
    occurred_at: record.finishedAt,
  };
}

function modelInfo(model: string, result: TaskResult) {
  const [provider = "", ...rest] = model.split("/");
  return result.model
    ? { name: result.model.modelID, provider: result.model.providerID }
    : { name: rest.join("/") || model, provider };
}

/** Harbor's TrialConfig for a unit. */
export function harborTrialConfig(input: HarborTrialInput) {
  const name = trialName(input.record.task, input.record.repeat);
  return {
    task: {
      path: input.taskDir,
      git_url: null,
      git_commit_id: null,
      overwrite: false,
      download_dir: null,
      source: null,
    },
    trial_name: name,
    trials_dir: input.jobDir,
    timeout_multiplier: input.timeoutMultiplier,
    agent: { name: AGENT_NAME, import_path: null, model_name: input.model, kwargs: {}, env: {} },
    environment: { type: "docker", import_path: null, force_build: false, delete: true, kwargs: {}, env: {} },
    verifier: { override_timeout_sec: null, max_timeout_sec: null, env: {}, disable: false },
    job_id: input.jobId,
  };
}

/** Harbor's TrialResult for a unit of a Harbor task. */
export function harborTrialResult(input: HarborTrialInput) {
  const { record, result } = input;
  const name = trialName(record.task, record.repeat);
  const time = spans(record, result);
  const [envSetup, agentSetup, agentRun, verify] = time.phases;
  const tokens = result.tokens;
  const rewards = record.verifier && record.verifier.reward !== null ? record.verifier.rewards : null;
  return {
    id: stableUuid(`${input.jobId}/${record.key}`),
    task_name: record.task,
    trial_name: name,
    trial_uri: `file://${input.jobDir}/${name}`,
    task_id: { path: input.taskDir },
    source: null,
    task_checksum: record.taskDigest,
    config: harborTrialConfig(input),
    agent_info: {
      name: AGENT_NAME,
      version: input.opencodeVersion,
      model_info: modelInfo(input.model, result),
    },
    agent_result: {
      n_input_tokens: Math.round(tokens.input + tokens.cacheRead + tokens.cacheWrite),
      n_cache_tokens: Math.round(tokens.cacheRead),
      n_output_tokens: Math.round(tokens.output + tokens.reasoning),
      cost_usd: result.cost,
      rollout_details: null,
      metadata: {
        outcome: result.outcome,
        failureReason: result.failureReason,
        ocboxUnit: record.key,
        // OpenCode's session (its own format, not Harbor's ATIF trajectory), linked in the trial folder.
        ...(record.session ? { session: TRIAL_SESSION, sessionMessages: record.session.messages } : {}),
      },
    },
    verifier_result: rewards ? { rewards } : null,
    exception_info: exceptionInfo(record, result),
    started_at: time.started,
    finished_at: time.finished,
    environment_setup: envSetup,
    agent_setup: agentSetup,
    agent_execution: agentRun,
    verifier: record.verifier ? verify : null,
  };
}

export type HarborTrial = ReturnType<typeof harborTrialResult>;

/** Harbor's JobResult over the trials: its stats per agent, model and dataset. */
export function harborJobResult(
  trials: readonly HarborTrial[],
  job: { id: string; startedAt: string; finishedAt: string },
) {
  const evals: Record<string, ReturnType<typeof datasetStats>> = {};
  const groups = new Map<string, HarborTrial[]>();
  for (const t of trials) {
    const key = `${t.agent_info.name}__${t.agent_info.model_info.name}__${t.source ?? "adhoc"}`;
    groups.set(key, [...(groups.get(key) ?? []), t]);
  }
  for (const [key, list] of groups) evals[key] = datasetStats(list);
  const sum = (f: (t: HarborTrial) => number) => trials.reduce((a, t) => a + f(t), 0);
  const errored = trials.filter((t) => t.exception_info).length;
  return {
    id: job.id,
    started_at: job.startedAt,
    updated_at: job.finishedAt,
    finished_at: job.finishedAt,
    n_total_trials: trials.length,
    stats: {
      n_completed_trials: trials.length,
      n_errored_trials: errored,
      n_running_trials: 0,
      n_pending_trials: 0,
      n_cancelled_trials: 0,
      n_retries: 0,
      evals,
      n_input_tokens: sum((t) => t.agent_result.n_input_tokens),
      n_cache_tokens: sum((t) => t.agent_result.n_cache_tokens),
      n_output_tokens: sum((t) => t.agent_result.n_output_tokens),
      cost_usd: sum((t) => t.agent_result.cost_usd),
    },
  };
}

/** A trial's reward as Harbor's mean reads it: `reward`, else the only metric, else 0. */
function trialReward(t: HarborTrial): number {
  const r = t.verifier_result?.rewards;
  if (!r) return 0;
  const values = Object.values(r);
  return r.reward ?? (values.length === 1 ? (values[0] ?? 0) : 0);
}

/** One agent × model × dataset group, as Harbor's AgentDatasetStats. */
function datasetStats(trials: readonly HarborTrial[]) {
  const rewardStats: Record<string, Record<string, string[]>> = {};
  const exceptionStats: Record<string, string[]> = {};
  for (const t of trials) {
    for (const [k, v] of Object.entries(t.verifier_result?.rewards ?? {})) {
      const byValue = (rewardStats[k] ??= {});
      (byValue[String(v)] ??= []).push(t.trial_name);
    }
    const type = t.exception_info?.exception_type;
    if (type) (exceptionStats[type] ??= []).push(t.trial_name);
  }
  // Harbor's mean counts a trial without a reward as 0.
  const rewards = trials.map(trialReward);
  const byTask = new Map<string, number[]>();
  for (const t of trials) byTask.set(t.task_name, [...(byTask.get(t.task_name) ?? []), trialReward(t)]);
  const perTask = [...byTask.values()].map((r) => passAtKs(r));
  const passAtK: Record<string, number> = {};
  const maxK = Math.min(...[...byTask.values()].map((r) => r.length));
  for (let k = 1; k <= maxK; k++)
    passAtK[String(k)] = perTask.reduce((a, p) => a + (p[`pass@${k}`] ?? 0), 0) / perTask.length;
  return {
    n_trials: trials.filter((t) => t.verifier_result).length,
    n_errors: trials.filter((t) => t.exception_info).length,
    metrics: [{ mean: rewards.reduce((a, b) => a + b, 0) / (rewards.length || 1) }],
    pass_at_k: passAtK,
    reward_stats: rewardStats,
    exception_stats: exceptionStats,
  };
}
