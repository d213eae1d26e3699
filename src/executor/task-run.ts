/**
 * One task's running record: what the result will say (attempts, tokens, cost, model, timings,
 * warnings, permission asks) and the ways a task ends (`Ended`), including by a timer. The
 * executor's steps (run-task.ts, prompt-loop.ts) fill it in; `finish` turns it into the result.
 */
import type { FailureHint } from "./hints.js";
import type { AnsweredAsk } from "./permission-policy.js";
import { addTokens, emptyTokens, type TaskResult, type Timeouts, type Tokens } from "./task.js";
import type { Watchdog } from "./watchdog.js";

export interface TaskEvent {
  phase: "queued" | "sandbox" | "model" | "prompt" | "retry" | "structurer" | "result" | "log" | "warning";
  message: string;
}

export type Ended = Pick<
  TaskResult,
  "outcome" | "contract" | "failureReason" | "failureKind" | "hint" | "recoveredBy" | "rawOutput"
>;

export const fail = (
  hint: Pick<FailureHint, "reason" | "hint"> & { kind: FailureHint["kind"] | null },
  raw: string | null = null,
): Ended => ({
  outcome: "ERROR",
  contract: null,
  failureReason: hint.reason,
  failureKind: hint.kind,
  hint: hint.hint,
  recoveredBy: null,
  rawOutput: raw,
});

/**
 * The end a fired timer gives the task, or undefined when none fired. `waiting`: the task had no
 * sandbox yet (it waited for a pool slot or for its sandbox to start), which the hard cap counts.
 */
export function timerEnded(
  watchdog: Pick<Watchdog, "fired">,
  timeouts: Timeouts,
  waiting?: "for a pool slot" | "for its sandbox",
): Ended | undefined {
  const kind = watchdog.fired;
  if (!kind) return undefined;
  const hint =
    kind !== "TIMEOUT"
      ? `The agent showed no activity for ${timeouts.inactivityS} s; the sandbox was removed. The model may hang: check its server, or raise timeouts.inactivityS.`
      : waiting
        ? `The task hit its hard cap of ${timeouts.hardS} s while it waited ${waiting}, before the agent started (the cap counts the wait). Raise timeouts.hardS, or run fewer tasks at once.`
        : `The task hit its hard cap of ${timeouts.hardS} s; the sandbox was removed. Raise timeouts.hardS or split the task.`;
  return fail({ reason: kind, kind: null, hint });
}

export class TaskRun {
  tokens: Tokens = emptyTokens();
  cost = 0;
  attempts = 0;
  sessionId: string | null = null;
  model: TaskResult["model"] = null;
  /** Set once the task has its sandbox; "none" until then. */
  sandbox: TaskResult["sandbox"] = "none";
  permissionAsks: AnsweredAsk[] = [];
  readonly timings = { queued: 0, sandbox: 0, firstRequest: null as number | null, agent: 0, total: 0 };
  /** Called once, at the first model request (the warm pool's held refill). */
  onFirstRequest: (() => void) | undefined;
  private readonly warnings: string[] = [];
  private readonly t0 = performance.now();

  constructor(
    private readonly labels: { pool: string; role: string | null },
    private readonly onEvent?: (e: TaskEvent) => void,
  ) {}

  emit(phase: TaskEvent["phase"], message: string): void {
    if (phase === "warning") this.warnings.push(message);
    this.onEvent?.({ phase, message });
  }

  /** Seconds since `from` (a performance.now() value), or since the task began. */
  seconds(from = this.t0): number {
    return (performance.now() - from) / 1000;
  }

  /** The server started its first model call for the task (its first assistant message). */
  firstRequest(): void {
    if (this.timings.firstRequest !== null) return;
    this.timings.firstRequest = this.seconds();
    this.onFirstRequest?.();
  }

  addUsage(usage: { tokens: Tokens; cost: number }): void {
    this.tokens = addTokens(this.tokens, usage.tokens);
    this.cost += usage.cost;
  }

  finish(ended: Ended): TaskResult {
    this.timings.total = this.seconds();
    const result: TaskResult = {
      ...ended,
      attempts: this.attempts,
      sessionId: this.sessionId,
      model: this.model,
      tokens: this.tokens,
      cost: this.cost,
      timings: this.timings,
      sandbox: this.sandbox,
      ...(this.warnings.length ? { warnings: [...this.warnings] } : {}),
      ...(this.permissionAsks.length ? { permissionAsks: [...this.permissionAsks] } : {}),
      pool: this.labels.pool,
      role: this.labels.role,
    };
    const reason = result.failureReason ? ` (${result.failureReason})` : "";
    this.emit("result", `${result.outcome}${reason} in ${this.timings.total.toFixed(1)} s`);
    return result;
  }
}
