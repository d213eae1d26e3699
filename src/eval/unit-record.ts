/**
 * What a unit's folder holds besides the workspace: `unit.json` (the task's prompt and
 * requirements as run, the check's outcome, whether the failure was infrastructure), next to
 * `result.json` (the executor's TaskResult), `diff.patch` and `session.json`.
 */
import type { TaskResult } from "../executor/task.js";
import type { Requirement } from "./task-schema.js";

export interface CheckOutcome {
  command: string;
  exitCode: number;
  seconds: number;
  /** The last 4 kB of its output. */
  output: string;
}

/** A Harbor-format task's verifier (`tests/test.sh`), run after the agent phase. */
export interface VerifierOutcome {
  /** The run's reward (`reward.txt`, or `reward.json`'s `reward`/only key); null when none was left. */
  reward: number | null;
  /** Every named reward (`{ reward }` for `reward.txt`). */
  rewards: Record<string, number>;
  exitCode: number | null;
  seconds: number;
  /** The last 4 kB of the verifier's output. */
  outputTail: string;
  /** Why no reward could be read (a missing or malformed file, a timeout), when so. */
  problem?: string;
}

export interface UnitRecord {
  key: string;
  task: string;
  repeat: number;
  taskDigest: string;
  prompt: string;
  requirements: Requirement[];
  check: CheckOutcome | null;
  /** Harbor tasks: the verifier's outcome (absent for ocbox-format tasks). */
  verifier?: VerifierOutcome;
  /** Infrastructure failure (sandbox, network, auth, rate limit): counted apart, retryable. */
  infra: boolean;
  diffBytes: number;
  finishedAt: string;
}

/** Failure reasons that say nothing about the agent. */
export function isInfraFailure(result: Pick<TaskResult, "failureReason">): boolean {
  return result.failureReason === "INFRASTRUCTURE" || result.failureReason === "RATE_LIMIT";
}
