/**
 * Harbor's TrialResult and JobResult as zod schemas, so what ocbox writes under `OUT/harbor/`
 * (harbor-result.ts) is checked against what Harbor's pydantic models accept. Written from
 * Harbor's models (`models/trial/result.py`, `models/trial/config.py`, `models/job/result.py`,
 * `models/agent/context.py`, `models/verifier/result.py`): required keys are required here, optional
 * ones optional and nullable as there, datetimes are ISO-8601 strings, UUIDs are UUIDs, counters
 * are integers. Harbor's models ignore unknown keys; the top-level objects here are strict, so a
 * misspelt name in ocbox's output fails the check instead of being silently ignored by Harbor.
 * Pure.
 */
import { z } from "zod";

const datetime = z.iso.datetime({ offset: true });
const uuid = z.uuid();
const int = z.number().int();
const path = z.string().min(1);
const dict = z.record(z.string(), z.unknown());
/** A JSON object key that pydantic reads as an int (`dict[int, …]`). */
const intKey = z.string().regex(/^-?\d+$/);
/** A JSON object key that pydantic reads as `float | int`. */
const numberKey = z.string().refine((k) => k.trim() !== "" && Number.isFinite(Number(k)), "not a number");

/** `TimingInfo`: a phase's start and end. */
export const timingInfoSchema = z.strictObject({
  started_at: datetime.nullable().optional(),
  finished_at: datetime.nullable().optional(),
});

/** `ExceptionInfo`: every field required. */
export const exceptionInfoSchema = z.strictObject({
  exception_type: z.string(),
  exception_message: z.string(),
  exception_traceback: z.string(),
  occurred_at: datetime,
});

export const agentInfoSchema = z.strictObject({
  name: z.string(),
  version: z.string(),
  model_info: z.strictObject({ name: z.string(), provider: z.string() }).nullable().optional(),
});

/** `AgentContext` (the trial's `agent_result`). */
export const agentContextSchema = z.strictObject({
  n_input_tokens: int.nonnegative().nullable().optional(),
  n_cache_tokens: int.nonnegative().nullable().optional(),
  n_output_tokens: int.nonnegative().nullable().optional(),
  cost_usd: z.number().finite().nullable().optional(),
  rollout_details: z.array(dict).nullable().optional(),
  metadata: dict.nullable().optional(),
});

/** `VerifierResult`: the named rewards. */
export const verifierResultSchema = z.strictObject({
  rewards: z.record(z.string(), z.number().finite()).nullable().optional(),
});

const localTaskId = z.looseObject({ path });
const gitTaskId = z.looseObject({
  git_url: z.string(),
  git_commit_id: z.string().nullable().optional(),
  path,
});

/** `TrialConfig`: its sub-configs vary between Harbor versions; their types are checked, extras allowed. */
export const trialConfigSchema = z.looseObject({
  task: z.looseObject({
    path,
    git_url: z.string().nullable().optional(),
    git_commit_id: z.string().nullable().optional(),
    overwrite: z.boolean().optional(),
    download_dir: z.string().nullable().optional(),
    source: z.string().nullable().optional(),
  }),
  trial_name: z.string().optional(),
  trials_dir: z.string().optional(),
  timeout_multiplier: z.number().positive().optional(),
  agent: z.looseObject({
    name: z.string().nullable().optional(),
    import_path: z.string().nullable().optional(),
    model_name: z.string().nullable().optional(),
    kwargs: dict.optional(),
  }),
  environment: z.looseObject({
    type: z.string().nullable().optional(),
    import_path: z.string().nullable().optional(),
    force_build: z.boolean().optional(),
    delete: z.boolean().optional(),
    kwargs: dict.optional(),
  }),
  verifier: z.looseObject({
    override_timeout_sec: z.number().nullable().optional(),
    max_timeout_sec: z.number().nullable().optional(),
    disable: z.boolean().optional(),
  }),
  job_id: uuid.nullable().optional(),
});

/** `TrialResult` (`<job>/<trial>/result.json`). */
export const trialResultSchema = z.strictObject({
  id: uuid,
  task_name: z.string(),
  trial_name: z.string(),
  trial_uri: z.string(),
  task_id: z.union([localTaskId, gitTaskId]),
  source: z.string().nullable().optional(),
  task_checksum: z.string(),
  config: trialConfigSchema,
  agent_info: agentInfoSchema,
  agent_result: agentContextSchema.nullable().optional(),
  verifier_result: verifierResultSchema.nullable().optional(),
  exception_info: exceptionInfoSchema.nullable().optional(),
  started_at: datetime.nullable().optional(),
  finished_at: datetime.nullable().optional(),
  environment_setup: timingInfoSchema.nullable().optional(),
  agent_setup: timingInfoSchema.nullable().optional(),
  agent_execution: timingInfoSchema.nullable().optional(),
  verifier: timingInfoSchema.nullable().optional(),
});

/** `AgentDatasetStats`: one agent × model × dataset group of a job. */
export const agentDatasetStatsSchema = z.strictObject({
  n_trials: int.nonnegative(),
  n_errors: int.nonnegative(),
  metrics: z.array(dict),
  pass_at_k: z.record(intKey, z.number().finite()),
  reward_stats: z.record(z.string(), z.record(numberKey, z.array(z.string()))),
  exception_stats: z.record(z.string(), z.array(z.string())),
});

export const jobStatsSchema = z.strictObject({
  n_completed_trials: int.nonnegative(),
  n_errored_trials: int.nonnegative(),
  n_running_trials: int.nonnegative(),
  n_pending_trials: int.nonnegative(),
  n_cancelled_trials: int.nonnegative(),
  n_retries: int.nonnegative(),
  evals: z.record(z.string(), agentDatasetStatsSchema),
  n_input_tokens: int.nonnegative().nullable().optional(),
  n_cache_tokens: int.nonnegative().nullable().optional(),
  n_output_tokens: int.nonnegative().nullable().optional(),
  cost_usd: z.number().finite().nullable().optional(),
});

/** `JobResult` (`<job>/result.json`). */
export const jobResultSchema = z.strictObject({
  id: uuid,
  started_at: datetime,
  updated_at: datetime.nullable().optional(),
  finished_at: datetime.nullable().optional(),
  n_total_trials: int.nonnegative(),
  stats: jobStatsSchema,
  trial_results: z.array(z.unknown()).optional(),
});
