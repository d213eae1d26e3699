/**
 * The prompt loop of one task (FEATURES E3–E6): prompt, judge the answer, then finish, retry
 * (model errors, rate limits), recover (the structurer, stricter re-prompts) or fail. The
 * sandbox, the session and the event stream are already there (run-task.ts).
 */
import type { OpencodeClient } from "@opencode-ai/sdk/v2";
import { OcboxError, errorMessage } from "../errors.js";
import { promptAndWait, type PromptOutcome } from "../opencode/prompt.js";
import { judgeAttempt, type Verdict } from "./attempt.js";
import { contractJsonSchema, instructionBlock } from "./contract.js";
import { backoffMs, permissionHint, type FailureHint } from "./hints.js";
import { formatModelRef, providerBaseURL } from "./model.js";
import type { runStructurer } from "./structurer.js";
import type { TaskPlan } from "./task-plan.js";
import { fail, timerEnded, type Ended, type TaskRun } from "./task-run.js";
import type { TaskWatch } from "./task-watch.js";
import type { Watchdog } from "./watchdog.js";
import { traceMark } from "../util/trace.js";

export interface LoopInput {
  plan: TaskPlan;
  prompt: string;
  client: OpencodeClient;
  sessionId: string;
  run: TaskRun;
  watch: TaskWatch;
  watchdog: Watchdog;
  /** The task's signal (timers and the caller's interrupt). */
  signal: AbortSignal;
  /** The caller's own signal: aborted means interrupted, an exception rather than a result. */
  interrupt: AbortSignal | undefined;
  deps: {
    runStructurer: typeof runStructurer;
    /** Wait, ending early (without throwing) when the signal aborts. */
    sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  };
}

interface LoopState {
  text: string;
  useStructured: boolean;
  structurerTried: boolean;
  malformed: number;
  model: number;
  rate: number;
  lastRaw: string | null;
}

type Next = Ended | "again";

export async function promptLoop(input: LoopInput): Promise<Ended> {
  const { plan } = input;
  const state: LoopState = {
    useStructured: plan.structuredOutput,
    text: plan.structuredOutput ? input.prompt : `${input.prompt}\n\n${instructionBlock(plan.contract)}`,
    structurerTried: false,
    malformed: 0,
    model: 0,
    rate: 0,
    lastRaw: null,
  };
  for (;;) {
    const outcome = await sendAttempt(input, state);
    const stopped = await stoppedBy(input, outcome, state.lastRaw);
    if (stopped) return stopped;
    if (!outcome) throw new OcboxError("OPENCODE", "the prompt ended without an answer");
    const verdict = judgeAttempt(outcome, plan.contract, { rateLimitPatterns: plan.rateLimitPatterns });
    const next = await afterVerdict(input, state, verdict, outcome);
    if (next !== "again") return next;
  }
}

/** One prompt, with the inactivity timer armed; undefined when the attempt was aborted. */
async function sendAttempt(input: LoopInput, state: LoopState): Promise<PromptOutcome | undefined> {
  const { plan, run, watchdog } = input;
  run.attempts++;
  const attemptSignal = AbortSignal.any([input.signal, input.watch.guard.nextAttempt()]);
  watchdog.arm();
  run.emit("prompt", `attempt ${run.attempts}${state.useStructured ? " (structured output)" : ""}`);
  let outcome: PromptOutcome | undefined;
  try {
    traceMark(`exec.prompt-sent (attempt ${run.attempts})`);
    outcome = await promptAndWait(input.client, {
      sessionId: input.sessionId,
      text: state.text,
      ...(state.useStructured ? { schema: contractJsonSchema(plan.contract) } : {}),
      ...(plan.system ? { system: plan.system } : {}),
      ...(plan.model ? { model: plan.model } : {}),
      signal: attemptSignal,
    });
  } catch (e) {
    if (!attemptSignal.aborted) throw e;
  } finally {
    watchdog.disarm();
  }
  if (outcome) {
    run.addUsage(outcome);
    if (!run.model) await recordModel(input, outcome);
  }
  // Replies already sent are part of this attempt's record.
  await input.watch.answerer.settle();
  run.permissionAsks = input.watch.answerer.answered;
  return outcome;
}

async function recordModel(input: LoopInput, outcome: PromptOutcome): Promise<void> {
  const config = (await input.client.config.get().catch(() => undefined))?.data as
    Record<string, unknown> | undefined;
  input.run.model = { ...outcome.model, endpoint: providerBaseURL(outcome.model.providerID, config) };
  input.run.emit(
    "model",
    `model ${formatModelRef(outcome.model)} at ${input.run.model.endpoint ?? "its provider's default endpoint"}`,
  );
}

/** What ends the task whatever the answer: a timer, an interrupt, a fatal retry, an unanswered ask. */
async function stoppedBy(
  input: LoopInput,
  outcome: PromptOutcome | undefined,
  lastRaw: string | null,
): Promise<Ended | undefined> {
  const timed = timerEnded(input.watchdog, input.plan.timeouts);
  if (timed) {
    await input.client.session.abort({ sessionID: input.sessionId }).catch(() => undefined);
    return { ...timed, rawOutput: outcome?.text || lastRaw };
  }
  if (input.interrupt?.aborted) throw new OcboxError("INTERRUPTED", "interrupted; the sandbox was removed");
  const { guard } = input.watch;
  if (guard.fatal) return fail(guard.fatal);
  if (guard.unanswered) return fail({ reason: "PERMISSION", kind: null, hint: guard.unanswered });
  return undefined;
}

async function afterVerdict(
  input: LoopInput,
  state: LoopState,
  verdict: Verdict,
  outcome: PromptOutcome,
): Promise<Next> {
  const asks = input.run.permissionAsks;
  // A rejected ask stops OpenCode's agent loop: without a contract, re-prompting asks again.
  if (verdict.kind !== "contract" && asks.some((a) => a.answer === "reject"))
    return fail(
      { reason: "PERMISSION", kind: null, hint: permissionHint(asks, input.plan.permissions) },
      outcome.text || null,
    );
  switch (verdict.kind) {
    case "contract": {
      const rateLimited = input.watch.guard.rateLimited;
      return {
        outcome: verdict.contract.outcome,
        contract: verdict.contract,
        failureReason: null,
        failureKind: null,
        hint: rateLimited ? `the provider rate-limited ${rateLimited} time(s); OpenCode backed off` : null,
        recoveredBy: input.run.attempts > 1 ? "retry" : verdict.via,
        rawOutput: null,
      };
    }
    case "aborted":
      throw new OcboxError("OPENCODE", "the session was aborted from outside the task");
    case "failure":
      return afterFailure(input, state, verdict.hint, outcome);
    case "malformed":
      return afterMalformed(input, state, verdict);
  }
}

/** Rate limits back off and retry, model errors retry, the rest (and the last try) fail. */
async function afterFailure(
  input: LoopInput,
  state: LoopState,
  h: FailureHint,
  outcome: PromptOutcome,
): Promise<Next> {
  const { plan, run } = input;
  if (!h.fatal && h.kind === "RATE_LIMIT" && state.rate < plan.maxRateLimitRetries) {
    state.rate++;
    const wait = h.retryAfterMs ?? backoffMs(state.rate, { baseMs: 2000, maxMs: 60_000 });
    run.emit("retry", `rate limited; backing off ${(wait / 1000).toFixed(1)} s`);
    await input.deps.sleep(wait, input.signal);
    return "again";
  }
  if (!h.fatal && h.kind === "MODEL" && state.model < plan.maxModelRetries) {
    state.model++;
    run.emit("retry", `model error; retrying (${state.model}/${plan.maxModelRetries})`);
    return "again";
  }
  return fail(h, outcome.text || null);
}

/** Output that is no contract: the structurer once, then stricter re-prompts, then MALFORMED_OUTPUT. */
async function afterMalformed(
  input: LoopInput,
  state: LoopState,
  verdict: Extract<Verdict, { kind: "malformed" }>,
): Promise<Next> {
  const { plan, run } = input;
  state.lastRaw = verdict.raw;
  if (verdict.structuredRefused) state.useStructured = false;
  if (!state.structurerTried && plan.structurer.enabled && verdict.raw.trim()) {
    state.structurerTried = true;
    const recovered = await structure(input, verdict.raw);
    if (recovered) return recovered;
  }
  if (state.malformed < plan.maxRetriesOnMalformedOutput) {
    state.malformed++;
    const of = `${state.malformed}/${plan.maxRetriesOnMalformedOutput}`;
    run.emit("retry", `re-prompting with a stricter instruction (${of})`);
    state.text = instructionBlock(plan.contract, { retry: { issues: verdict.issues } });
    return "again";
  }
  return fail(
    {
      reason: "MALFORMED_OUTPUT",
      kind: null,
      hint: `The agent's answer was not a valid Agent Contract after ${run.attempts} attempt(s): ${verdict.message}`,
    },
    verdict.raw,
  );
}

/** One structurer call; the task's end when it recovered a contract or a timer fired meanwhile. */
async function structure(input: LoopInput, raw: string): Promise<Ended | undefined> {
  const { run } = input;
  run.emit("structurer", "the answer is not a valid contract; asking the structurer");
  const structured = await input.deps
    .runStructurer(input.plan, raw, { signal: input.signal, onLine: (l) => run.emit("log", l) })
    .catch((e: unknown) => {
      run.emit("structurer", `structurer failed: ${errorMessage(e)}`);
      return undefined;
    });
  if (structured) {
    run.addUsage(structured);
    if (structured.contract)
      return {
        outcome: structured.contract.outcome,
        contract: structured.contract,
        failureReason: null,
        failureKind: null,
        hint: null,
        recoveredBy: "structurer",
        rawOutput: null,
      };
    run.emit("structurer", `structurer could not recover: ${structured.message}`);
  }
  const timedOut = timerEnded(input.watchdog, input.plan.timeouts);
  return timedOut ? { ...timedOut, rawOutput: raw } : undefined;
}
