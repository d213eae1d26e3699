/**
 * The executor's public shapes: what a program hands in (TaskInput) and the typed outcome it gets
 * back (TaskResult). TaskResult is plain JSON; `ocbox run --json` prints exactly this.
 */
import type { HostExecutedEdit } from "../sandbox/host-executed-edits.js";
import type { LeftOut } from "../sandbox/copy-back-policy.js";
import type { Outcome } from "./contract.js";
import type { FailureReason, HintKind } from "./hints.js";
import type { AnsweredAsk } from "./permission-policy.js";

export { DEFAULT_TIMEOUTS, type Timeouts } from "../plan/timeouts.js";

export type RecoveredBy = "structured-output" | "extraction" | "structurer" | "retry";

export interface Tokens {
  input: number;
  output: number;
  reasoning: number;
  cacheRead: number;
  cacheWrite: number;
}

export interface TaskResult {
  /** COMPLETE and NEEDS_INFO come from the agent's contract; ERROR from the contract or from a failure. */
  outcome: Outcome;
  /** The validated Agent Contract, or null when none was obtained. */
  contract: Record<string, unknown> | null;
  failureReason: FailureReason | null;
  /** The failure class behind an INFRASTRUCTURE, MODEL or RATE_LIMIT failure. */
  failureKind: HintKind | null;
  /** What an operator can do about the failure, in words. Never a secret. */
  hint: string | null;
  /** Prompts sent to the agent (1 = no retry). */
  attempts: number;
  /** How the contract was obtained; null on failure. */
  recoveredBy: RecoveredBy | null;
  sessionId: string | null;
  model: { providerID: string; modelID: string; endpoint: string | null } | null;
  tokens: Tokens;
  /** USD, as OpenCode reports it; 0 for local or unknown prices. */
  cost: number;
  /** Seconds. `queued` is the wait for a pool slot; `sandbox` the start (≈0 from the warm pool). */
  timings: { queued: number; sandbox: number; firstRequest: number | null; agent: number; total: number };
  /**
   * "warm" when the sandbox came from the warm pool, "cold" when one was started for the task,
   * "none" when the task ended before it had one (a timer fired while it waited, or none started).
   */
  sandbox: "warm" | "cold" | "none";
  pool: string | null;
  /** The raw final output, when parsing failed. */
  rawOutput: string | null;
  /** Role used, if any. */
  role: string | null;
  /**
   * The agent container's isolation when it is not the engine's default: `runtime` is
   * `hardening.runtime` (gVisor's runsc), checked at start. Absent: the engine's default (runc).
   */
  security?: { runtime: string };
  /** WARNING lines about this task's sandbox (an `unsafe.*` opt-in, weakened hardening); absent when none. */
  warnings?: string[];
  /**
   * The agent's edits to workspace files that run on the host later (git config and hooks,
   * package.json scripts, Makefile, .envrc, VS Code tasks, the pre-start hook); set by `runTask`.
   */
  hostExecutedEdits?: HostExecutedEdit[];
  /**
   * What the copy of the agent's work back to the host left out (FIFOs, sockets, devices, files over
   * `limits.copyBack`); absent when nothing was.
   */
  leftOut?: LeftOut[];
  /**
   * Every permission OpenCode asked for during the task and how the unattended policy answered
   * (`once`, `reject`, or `unanswered`), with the workspace config line that asked; absent when
   * none was asked.
   */
  permissionAsks?: AnsweredAsk[];
}

export function emptyTokens(): Tokens {
  return { input: 0, output: 0, reasoning: 0, cacheRead: 0, cacheWrite: 0 };
}

export function addTokens(a: Tokens, b: Tokens): Tokens {
  return {
    input: a.input + b.input,
    output: a.output + b.output,
    reasoning: a.reasoning + b.reasoning,
    cacheRead: a.cacheRead + b.cacheRead,
    cacheWrite: a.cacheWrite + b.cacheWrite,
  };
}

/** Exit codes of `ocbox run`, per outcome and failure reason. */
export const RUN_EXIT = {
  COMPLETE: 0,
  NEEDS_INFO: 10,
  ERROR: 11,
  MALFORMED_OUTPUT: 12,
  TIMEOUT: 13,
  INACTIVITY: 14,
  RATE_LIMIT: 15,
  MODEL: 16,
  INFRASTRUCTURE: 17,
  OUTPUT_TOO_LARGE: 18,
  PERMISSION: 19,
} as const;

export function exitCodeFor(result: Pick<TaskResult, "outcome" | "failureReason">): number {
  if (result.failureReason) return RUN_EXIT[result.failureReason];
  return RUN_EXIT[result.outcome];
}
