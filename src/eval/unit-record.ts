/**
 * What a unit's folder holds besides the workspace: `unit.json` (the task's prompt and
 * requirements as run, the check's outcome, whether the failure was infrastructure), next to
 * `result.json` (the executor's TaskResult), `diff.patch` and `session.json`.
 */
import type { TaskResult } from "../executor/task.js";
import type { Requirement } from "./task-schema.js";
import type { UnitSteps } from "./unit-steps.js";

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
  /** Harbor's verifier mode: in the agent's container (`shared`) or a fresh one (`separate`). */
  mode?: "shared" | "separate";
}

/** Seconds per phase of a Harbor task's unit (issue 15, item 8). */
export interface UnitTimings {
  /** Building (or pulling) the task's image in this run; 0 when it was already there. */
  environmentBuild: number;
  /** The image was there already (built by an earlier run, or by another task of this run). */
  environmentCached: boolean;
  /** The agent's setup: the payload volume mounted read-only, the container up to a ready server. */
  agentSetup: number;
  /** The agent's turns (or the oracle's solve.sh). */
  agent: number;
  /**
   * The verifier's whole phase: the agent's stop and its side read back, the verifier's network
   * (shared) or its own container started and given the WORKDIR (separate), /tests up, test.sh,
   * the reward and /logs/verifier read back; null when it did not run. `verifier.seconds` is
   * test.sh alone.
   */
  verifier: number | null;
}

/** The unit's exported session (session-export.ts), beside unit.json. */
export const SESSION_FILE = "session.json";

export interface SessionRef {
  file: typeof SESSION_FILE;
  /** Messages in it (0: the export failed or the server had none; session.json says which). */
  messages: number;
  /** The export hit a size cap and left the rest out. */
  truncated?: true;
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
  /** Harbor tasks: seconds per phase. */
  timings?: UnitTimings;
  /** Harbor tasks run with `--oracle`: solution/solve.sh ran in the agent's place. */
  oracle?: boolean;
  /** The agent's session as exported from its server (absent: no agent ran, or an older unit). */
  session?: SessionRef;
  /** Infrastructure failure (sandbox, network, auth, rate limit): counted apart, retryable. */
  infra: boolean;
  diffBytes: number;
  /** Seconds per step of the unit's life (unit-steps.ts); absent in units written before it. */
  steps?: UnitSteps;
  finishedAt: string;
}

/** Failure reasons that say nothing about the agent. */
export function isInfraFailure(result: Pick<TaskResult, "failureReason">): boolean {
  return result.failureReason === "INFRASTRUCTURE" || result.failureReason === "RATE_LIMIT";
}
