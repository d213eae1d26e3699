/**
 * `runTask` (FEATURES E1–E13): one agent task in a fresh sandbox, to a typed TaskResult.
 *
 * queue for the pool slot → sandbox (warm pool or cold start) → session → prompt, asking for
 * wire-enforced structure → judge the answer → on unparseable output, one structurer call, then
 * stricter re-prompts → classified failure or a validated contract. Timers and the event stream
 * watch the agent throughout; every path removes the sandbox. No exception escapes for an
 * agent-side failure: those are results. Exceptions are for bad input and interrupts.
 */
import { readFile, stat } from "node:fs/promises";
import { isAbsolute, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { checkWorkspaceBoundary } from "../sandbox/workspace-guard.js";
import { OcboxError, errorMessage } from "../errors.js";
import type { ImageSet } from "../image/build.js";
import { watchSession } from "../opencode/events.js";
import { newSession, promptAndWait, type PromptOutcome } from "../opencode/prompt.js";
import type { OpencodeClient } from "@opencode-ai/sdk/v2";
import type { Engine, ExecResult } from "../runtime/engine.js";
import { judgeAttempt } from "./attempt.js";
import { contractJsonSchema, instructionBlock, type ContractSchema } from "./contract.js";
import { backoffMs, classifyFailure, type FailureHint } from "./hints.js";
import { formatModelRef, providerBaseURL, type ModelRef } from "./model.js";
import { sharedPools, type Pools } from "./pool.js";
import { acquireSandbox, profileWarnings, type SandboxProfile, type TaskSandbox } from "./sandbox-source.js";
import { runStructurer } from "./structurer.js";
import { applySyncBack, failedHint } from "./sync-back.js";
import { addTokens, emptyTokens, type RecoveredBy, type TaskResult, type Timeouts } from "./task.js";
import { Watchdog } from "./watchdog.js";
import type { WarmPool } from "./warm-pool.js";

export interface TaskEvent {
  phase: "queued" | "sandbox" | "model" | "prompt" | "retry" | "structurer" | "result" | "log" | "warning";
  message: string;
}

/** Everything resolved: what runTask needs beyond the task itself (see prepare.ts). */
export interface TaskPlan {
  engine: Engine;
  images: ImageSet;
  profile: SandboxProfile;
  model: ModelRef | undefined;
  role: string | null;
  system: string | undefined;
  contract: ContractSchema;
  structuredOutput: boolean;
  pool: string;
  timeouts: Timeouts;
  maxRetriesOnMalformedOutput: number;
  structurer: { enabled: boolean; model: ModelRef | undefined };
  rateLimitPatterns: string[];
  /** Model and rate-limit retries (not malformed output); default 2 and 3. */
  maxModelRetries: number;
  maxRateLimitRetries: number;
}

/** The agent's session inside its sandbox, for callers that watch or inspect it (the eval runner). */
export interface AgentSession {
  client: OpencodeClient;
  sessionId: string;
  /** The server's host port (127.0.0.1). */
  port: number;
  /** Run a command in the agent container (as the agent's user, cwd /workspace). */
  exec(argv: string[]): Promise<ExecResult>;
}

export interface TaskRequest {
  workspace: string;
  prompt: string;
  taskId?: string;
  signal?: AbortSignal;
  onEvent?: (e: TaskEvent) => void;
  pools?: Pools;
  warmPool?: WarmPool;
  /** Called once the session exists (live logs, heartbeats); the function it returns is called when the agent ends. */
  onSession?: (session: AgentSession) => (() => void) | void;
  /** Runs after the agent, before the sandbox is removed (a check command, the session export); errors are logged. */
  afterAgent?: (session: AgentSession) => Promise<void>;
}

type Ended = Pick<
  TaskResult,
  "outcome" | "contract" | "failureReason" | "failureKind" | "hint" | "recoveredBy" | "rawOutput"
>;

const fail = (hint: FailureHint, raw: string | null = null): Ended => ({
  outcome: "ERROR",
  contract: null,
  failureReason: hint.reason,
  failureKind: hint.kind,
  hint: hint.hint,
  recoveredBy: null,
  rawOutput: raw,
});

export async function checkWorkspace(workspace: string): Promise<string> {
  const abs = isAbsolute(workspace) ? workspace : resolve(workspace);
  const st = await stat(abs).catch(() => undefined);
  if (!st?.isDirectory()) {
    throw new OcboxError("USAGE", `workspace ${abs} is not a directory`, {
      fix: "Give --workspace an existing directory.",
    });
  }
  // A warm task copies the workspace in and back: ocbox's own dirs must not be in it either.
  await checkWorkspaceBoundary(abs);
  return abs;
}

export async function readPromptFile(file: string): Promise<string> {
  const text = await readFile(file, "utf8").catch((e: unknown) => {
    throw new OcboxError("USAGE", `cannot read the prompt file ${file}: ${errorMessage(e)}`, {
      fix: "Check the path given to --prompt-file.",
    });
  });
  if (!text.trim())
    throw new OcboxError("USAGE", `the prompt file ${file} is empty`, { fix: "Write the task into it." });
  return text;
}

/**
 * Run the task, then end its sandbox: the agent's work comes back (warm) and the result says how
 * that went (sync-back.ts): a failed copy is INFRASTRUCTURE, files over the caps OUTPUT_TOO_LARGE.
 */
export async function executeTask(plan: TaskPlan, request: TaskRequest): Promise<TaskResult> {
  const held: { box?: TaskSandbox } = {};
  const log = (message: string) => request.onEvent?.({ phase: "log", message });
  let result: TaskResult;
  try {
    result = await runAgent(plan, request, held);
  } catch (e) {
    const back = await held.box?.finish().catch((f: unknown) => log(`cleanup: ${errorMessage(f)}`));
    if (back?.kind === "failed") log(`cleanup: ${failedHint(back)}`);
    throw e;
  }
  const back = await held.box?.finish().catch((e: unknown) => {
    log(`cleanup: ${errorMessage(e)}`);
    return undefined;
  });
  if (!back) return result;
  const ended = applySyncBack(result, back);
  if (ended.failureReason !== result.failureReason)
    request.onEvent?.({
      phase: "result",
      message: `${ended.outcome} (${ended.failureReason ?? ""}): ${ended.hint ?? ""}`,
    });
  return ended;
}

async function runAgent(
  plan: TaskPlan,
  request: TaskRequest,
  held: { box?: TaskSandbox },
): Promise<TaskResult> {
  const t0 = performance.now();
  const seconds = (from: number) => (performance.now() - from) / 1000;
  const warnings: string[] = [];
  const emit = (phase: TaskEvent["phase"], message: string) => {
    if (phase === "warning") warnings.push(message);
    request.onEvent?.({ phase, message });
  };
  const workspace = await checkWorkspace(request.workspace);
  if (!request.prompt.trim())
    throw new OcboxError("USAGE", "the prompt is empty", {
      fix: "Give --prompt TEXT or --prompt-file FILE.",
    });

  const watchdog = new Watchdog(
    plan.timeouts.hardS * 1000,
    plan.timeouts.inactivityS === null ? null : plan.timeouts.inactivityS * 1000,
  );
  watchdog.start();
  const signals = [watchdog.signal, ...(request.signal ? [request.signal] : [])];
  const signal = AbortSignal.any(signals);

  let tokens = emptyTokens();
  let cost = 0;
  let attempts = 0;
  let sessionId: string | null = null;
  let model: TaskResult["model"] = null;
  let warm = false;
  const timings = { queued: 0, sandbox: 0, firstRequest: null as number | null, agent: 0, total: 0 };
  const pools = request.pools ?? sharedPools;

  const finish = (ended: Ended): TaskResult => {
    timings.total = seconds(t0);
    const result: TaskResult = {
      ...ended,
      attempts,
      sessionId,
      model,
      tokens,
      cost,
      timings,
      sandbox: warm ? "warm" : "cold",
      ...(warnings.length ? { warnings: [...warnings] } : {}),
      pool: plan.pool,
      role: plan.role,
    };
    emit(
      "result",
      `${result.outcome}${result.failureReason ? ` (${result.failureReason})` : ""} in ${timings.total.toFixed(1)} s`,
    );
    return result;
  };
  const timerEnded = (): Ended | undefined => {
    const kind = watchdog.fired;
    if (!kind) return undefined;
    const hint =
      kind === "TIMEOUT"
        ? `The task hit its hard cap of ${plan.timeouts.hardS} s; the sandbox was removed. Raise timeouts.hardS or split the task.`
        : `The agent showed no activity for ${plan.timeouts.inactivityS} s; the sandbox was removed. The model may hang: check its server, or raise timeouts.inactivityS.`;
    return {
      outcome: "ERROR",
      contract: null,
      failureReason: kind,
      failureKind: null,
      hint,
      recoveredBy: null,
      rawOutput: null,
    };
  };

  const tq = performance.now();
  // Loud, for every task: each opt-in that weakens this sandbox (unsafe.*, hardening.*), as the
  // startup summary words it.
  for (const w of profileWarnings(plan.profile)) emit("warning", w);
  emit("queued", `waiting for a slot in pool ${plan.pool}`);
  let lease;
  try {
    lease = await pools.acquire(plan.pool, signal);
  } catch (e) {
    const ended = timerEnded();
    watchdog.stop();
    if (ended) return finish(ended);
    throw e;
  }
  timings.queued = seconds(tq);

  let box: TaskSandbox | undefined;
  let session: AgentSession | undefined;
  try {
    const ts = performance.now();
    try {
      box = await acquireSandbox(plan, workspace, request.taskId ?? "task", {
        signal,
        warmPool: request.warmPool,
        onLine: (l) => emit("log", l),
      });
      held.box = box;
    } catch (e) {
      const ended = timerEnded();
      if (ended) return finish(ended);
      if (request.signal?.aborted)
        throw new OcboxError("INTERRUPTED", "interrupted; the sandbox was removed");
      if (
        e instanceof OcboxError &&
        (e.code === "SANDBOX_NOT_READY" || e.code === "SANDBOX_START" || e.code === "ENGINE")
      ) {
        return finish({
          outcome: "ERROR",
          contract: null,
          failureReason: "INFRASTRUCTURE",
          failureKind: null,
          hint: `${e.message}. ${e.fix ?? ""}`.trim(),
          recoveredBy: null,
          rawOutput: e.detail ?? null,
        });
      }
      throw e;
    }
    warm = box.warm;
    timings.sandbox = seconds(ts);
    emit("sandbox", `${warm ? "warm" : "cold"} sandbox ready in ${timings.sandbox.toFixed(2)} s`);

    const client = box.sandbox.client();
    sessionId = await newSession(client, request.taskId ?? "ocbox task");
    const agentId = box.sandbox.agentId;
    session = { client, sessionId, port: box.sandbox.port, exec: (argv) => plan.engine.exec(agentId, argv) };
    const stopWatching = request.onSession?.(session);
    const ta = performance.now();

    // The event stream feeds the inactivity timer and reveals provider retries early.
    let fatalRetry: FailureHint | undefined;
    let rateLimited = 0;
    const attemptAbort = { controller: new AbortController() };
    const watch = watchSession(client, sessionId, {
      onActivity: () => watchdog.touch(),
      // From the call to the server's first model call (its first assistant message).
      onAssistantMessage: () => (timings.firstRequest ??= seconds(t0)),
      onRetry: (status) => {
        const hint = classifyFailure(status.message, { rateLimitPatterns: plan.rateLimitPatterns });
        emit("retry", `provider retry ${status.attempt}: ${hint?.kind ?? "unclassified"}`);
        if (hint?.kind === "RATE_LIMIT") rateLimited++;
        if (hint?.fatal && !fatalRetry) {
          fatalRetry = hint;
          attemptAbort.controller.abort(new Error(hint.kind));
          if (sessionId) void client.session.abort({ sessionID: sessionId }).catch(() => undefined);
        }
      },
    });
    await Promise.race([watch.ready, sleep(3000)]);

    let useStructured = plan.structuredOutput;
    let structurerTried = false;
    let malformedRetries = 0;
    let modelRetries = 0;
    let rateRetries = 0;
    let text = useStructured ? request.prompt : `${request.prompt}\n\n${instructionBlock(plan.contract)}`;
    let lastRaw: string | null = null;
    try {
      for (;;) {
        attempts++;
        attemptAbort.controller = new AbortController();
        const attemptSignal = AbortSignal.any([signal, attemptAbort.controller.signal]);
        watchdog.arm();
        emit("prompt", `attempt ${attempts}${useStructured ? " (structured output)" : ""}`);
        let outcome: PromptOutcome | undefined;
        try {
          outcome = await promptAndWait(client, {
            sessionId,
            text,
            ...(useStructured ? { schema: contractJsonSchema(plan.contract) } : {}),
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
          tokens = addTokens(tokens, outcome.tokens);
          cost += outcome.cost;
          if (!model) {
            const config = (await client.config.get().catch(() => undefined))?.data as
              Record<string, unknown> | undefined;
            model = { ...outcome.model, endpoint: providerBaseURL(outcome.model.providerID, config) };
            emit(
              "model",
              `model ${formatModelRef(outcome.model)} at ${model.endpoint ?? "its provider's default endpoint"}`,
            );
          }
        }
        const timed = timerEnded();
        if (timed) {
          if (sessionId) await client.session.abort({ sessionID: sessionId }).catch(() => undefined);
          return finish({ ...timed, rawOutput: outcome?.text || lastRaw });
        }
        if (request.signal?.aborted)
          throw new OcboxError("INTERRUPTED", "interrupted; the sandbox was removed");
        if (fatalRetry) return finish(fail(fatalRetry));
        if (!outcome) throw new OcboxError("OPENCODE", "the prompt ended without an answer");

        const verdict = judgeAttempt(outcome, plan.contract, { rateLimitPatterns: plan.rateLimitPatterns });
        switch (verdict.kind) {
          case "contract": {
            const recoveredBy: RecoveredBy = attempts > 1 ? "retry" : verdict.via;
            return finish({
              outcome: verdict.contract.outcome,
              contract: verdict.contract,
              failureReason: null,
              failureKind: null,
              hint: rateLimited
                ? `the provider rate-limited ${rateLimited} time(s); OpenCode backed off`
                : null,
              recoveredBy,
              rawOutput: null,
            });
          }
          case "aborted":
            throw new OcboxError("OPENCODE", "the session was aborted from outside the task");
          case "failure": {
            const h = verdict.hint;
            if (h.fatal) return finish(fail(h, outcome.text || null));
            if (h.kind === "RATE_LIMIT" && rateRetries < plan.maxRateLimitRetries) {
              rateRetries++;
              const wait = h.retryAfterMs ?? backoffMs(rateRetries, { baseMs: 2000, maxMs: 60_000 });
              emit("retry", `rate limited; backing off ${(wait / 1000).toFixed(1)} s`);
              await sleep(wait, undefined, { signal }).catch(() => undefined);
              continue;
            }
            if (h.kind === "MODEL" && modelRetries < plan.maxModelRetries) {
              modelRetries++;
              emit("retry", `model error; retrying (${modelRetries}/${plan.maxModelRetries})`);
              continue;
            }
            return finish(fail(h, outcome.text || null));
          }
          case "malformed": {
            lastRaw = verdict.raw;
            if (verdict.structuredRefused) useStructured = false;
            if (!structurerTried && plan.structurer.enabled && verdict.raw.trim()) {
              structurerTried = true;
              emit("structurer", "the answer is not a valid contract; asking the structurer");
              const structured = await runStructurer(plan, verdict.raw, {
                signal,
                onLine: (l) => emit("log", l),
              }).catch((e: unknown) => {
                emit("structurer", `structurer failed: ${errorMessage(e)}`);
                return undefined;
              });
              if (structured) {
                tokens = addTokens(tokens, structured.tokens);
                cost += structured.cost;
                if (structured.contract) {
                  return finish({
                    outcome: structured.contract.outcome,
                    contract: structured.contract,
                    failureReason: null,
                    failureKind: null,
                    hint: null,
                    recoveredBy: "structurer",
                    rawOutput: null,
                  });
                }
                emit("structurer", `structurer could not recover: ${structured.message}`);
              }
              const timedOut = timerEnded();
              if (timedOut) return finish({ ...timedOut, rawOutput: lastRaw });
            }
            if (malformedRetries < plan.maxRetriesOnMalformedOutput) {
              malformedRetries++;
              emit(
                "retry",
                `re-prompting with a stricter instruction (${malformedRetries}/${plan.maxRetriesOnMalformedOutput})`,
              );
              text = instructionBlock(plan.contract, { retry: { issues: verdict.issues } });
              continue;
            }
            return finish({
              outcome: "ERROR",
              contract: null,
              failureReason: "MALFORMED_OUTPUT",
              failureKind: null,
              hint: `The agent's answer was not a valid Agent Contract after ${attempts} attempt(s): ${verdict.message}`,
              recoveredBy: null,
              rawOutput: verdict.raw,
            });
          }
        }
      }
    } finally {
      watch.stop();
      stopWatching?.();
      timings.agent = seconds(ta);
    }
  } finally {
    watchdog.stop();
    if (session && request.afterAgent && !request.signal?.aborted)
      await request
        .afterAgent(session)
        .catch((e: unknown) => emit("log", `after the agent: ${errorMessage(e)}`));
    // The sandbox ends in executeTask, which brings the work back; the model's slot is free already.
    lease.release();
  }
}
