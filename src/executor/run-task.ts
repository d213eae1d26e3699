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
import { isAbsolute, join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { OPENCODE_CONFIG_FILES } from "../config/opencode-json.js";
import { checkWorkspaceBoundary } from "../sandbox/workspace-guard.js";
import { OcboxError, errorMessage } from "../errors.js";
import { newSession } from "../opencode/prompt.js";
import type { OpencodeClient } from "@opencode-ai/sdk/v2";
import type { ContainerState, Engine, ExecResult } from "../runtime/engine.js";
import { unenforcedWarnings } from "../runtime/engine-capabilities.js";
import type { ConfigText } from "./permission-policy.js";
import { sharedPools, type PoolLease, type Pools } from "./pool.js";
import { sandboxEnded } from "./sandbox-ended.js";
import { promptLoop } from "./prompt-loop.js";
import { acquireSandbox, profileWarnings, type TaskSandbox } from "./sandbox-source.js";
import { runStructurer } from "./structurer.js";
import type { TaskPlan } from "./task-plan.js";
import { applySyncBack, failedHint } from "./sync-back.js";
import type { TaskResult } from "./task.js";
import { TaskRun, fail, timerEnded, type Ended, type TaskEvent } from "./task-run.js";
import { watchTask, type TaskWatch } from "./task-watch.js";
import { Watchdog, systemClock, type Clock } from "./watchdog.js";
import type { WarmPool } from "./warm-pool.js";
import { traced } from "../util/trace.js";

export type { TaskEvent } from "./task-run.js";

/** What the executor reaches the world through; tests pass fakes (a scripted client, a hand clock). */
export interface ExecutorDeps {
  acquireSandbox: typeof acquireSandbox;
  runStructurer: typeof runStructurer;
  clock: Clock;
  /** Wait, ending early (without throwing) when the signal aborts. */
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
}

const realDeps: ExecutorDeps = {
  acquireSandbox,
  runStructurer,
  clock: systemClock,
  sleep: (ms, signal) => sleep(ms, undefined, { signal }).catch(() => undefined),
};

/** The agent's session inside its sandbox, for callers that watch or inspect it (the eval runner). */
export interface AgentSession {
  client: OpencodeClient;
  sessionId: string;
  /** The server's host port (127.0.0.1). */
  port: number;
  /** The agent container's id (a Harbor task's verifier runs in it). */
  containerId: string;
  /** Its egress sidecar's id (a shared verifier's policy is loaded into it). */
  egressId: string;
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
  /** The plan for a cold start when `warmPool` has no sandbox to give after all (runTask's, probed). */
  coldPlan?: () => Promise<TaskPlan>;
  /** Called once the session exists (live logs, heartbeats); the function it returns is called when the agent ends. */
  onSession?: (session: AgentSession) => (() => void) | void;
  /** Runs after the agent, before the sandbox is removed (a check command, the session export); errors are logged. */
  afterAgent?: (session: AgentSession) => Promise<void>;
}

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
 * `deps` replaces the executor's contact with the world, for tests.
 */
export async function executeTask(
  plan: TaskPlan,
  request: TaskRequest,
  deps: Partial<ExecutorDeps> = {},
): Promise<TaskResult> {
  const held: { box?: TaskSandbox } = {};
  const log = (message: string) => request.onEvent?.({ phase: "log", message });
  let result: TaskResult;
  try {
    result = await runAgent(plan, request, held, { ...realDeps, ...deps });
    const runtime = plan.profile.hardening?.runtime;
    if (runtime !== undefined) result = { ...result, security: { runtime } };
  } catch (e) {
    const back = await held.box?.finish().catch((f: unknown) => log(`cleanup: ${errorMessage(f)}`));
    if (back?.kind === "failed") log(`cleanup: ${failedHint(back)}`);
    throw e;
  }
  const box = held.box;
  const back = !box
    ? undefined
    : await traced("exec.finish-sandbox", () => box.finish()).catch((e: unknown) => {
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

/** What the steps of one task share. */
interface Step {
  plan: TaskPlan;
  request: TaskRequest;
  run: TaskRun;
  watchdog: Watchdog;
  /** The timers' and the caller's signal together. */
  signal: AbortSignal;
  deps: ExecutorDeps;
}

/** The task's steps: check the input, wait for a slot, get a sandbox, run the session. */
async function runAgent(
  plan: TaskPlan,
  request: TaskRequest,
  held: { box?: TaskSandbox },
  deps: ExecutorDeps,
): Promise<TaskResult> {
  const workspace = await traced("exec.check-workspace", () => checkWorkspace(request.workspace));
  if (!request.prompt.trim())
    throw new OcboxError("USAGE", "the prompt is empty", {
      fix: "Give --prompt TEXT or --prompt-file FILE.",
    });
  const configs = await traced("exec.ask-configs", () => readAskConfigs(workspace));
  const watchdog = new Watchdog(
    plan.timeouts.hardS * 1000,
    plan.timeouts.inactivityS === null ? null : plan.timeouts.inactivityS * 1000,
    deps.clock,
  );
  watchdog.start();
  const signal = AbortSignal.any([watchdog.signal, ...(request.signal ? [request.signal] : [])]);
  const step: Step = { plan, request, run: new TaskRun(plan, request.onEvent), watchdog, signal, deps };
  const lease = await queue(step);
  if (!isLease(lease)) return step.run.finish(lease);
  let session: AgentSession | undefined;
  try {
    const box = await startBox(step, workspace);
    if (!isBox(box)) return step.run.finish(box);
    held.box = box;
    const opened = await openSession(step, box, configs);
    session = opened.session;
    return step.run.finish(await agentTurns(step, opened));
  } finally {
    watchdog.stop();
    if (session && request.afterAgent && !request.signal?.aborted)
      await request
        .afterAgent(session)
        .catch((e: unknown) => step.run.emit("log", `after the agent: ${errorMessage(e)}`));
    // The sandbox ends in executeTask, which brings the work back; the model's slot is free already.
    lease.release();
  }
}

const isLease = (l: PoolLease | Ended): l is PoolLease => "release" in l;
const isBox = (b: TaskSandbox | Ended): b is TaskSandbox => "sandbox" in b;

/** The workspace's opencode.json(c), to name the config line behind a permission ask. */
async function readAskConfigs(workspace: string): Promise<ConfigText[]> {
  const found: ConfigText[] = [];
  for (const file of OPENCODE_CONFIG_FILES) {
    const text = await readFile(join(workspace, file), "utf8").catch((e: unknown) => {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw new OcboxError("USAGE", `cannot read ${join(workspace, file)}: ${errorMessage(e)}`, {
        fix: "Check the file's permissions; OpenCode reads it inside the sandbox.",
      });
    });
    if (text !== undefined) found.push({ file, text });
  }
  return found;
}

/** Wait for a slot in the task's pool; a timer firing meanwhile ends the task. */
async function queue(step: Step): Promise<PoolLease | Ended> {
  const { plan, run } = step;
  const tq = performance.now();
  // Loud, for every task: each opt-in that weakens this sandbox (unsafe.*, hardening.*), as the
  // startup summary words it.
  for (const w of profileWarnings(plan.profile)) run.emit("warning", w);
  // And each model API host the proxy would deny (plan/egress-gaps.ts), with the line to add.
  for (const w of plan.egressWarnings ?? []) run.emit("warning", w);
  // And each hardening item the engine cannot apply (rootless Podman on cgroup v1: the limits).
  for (const w of unenforcedWarnings(
    await traced("exec.engine-capabilities", () => plan.engine.capabilities()),
  ))
    run.emit("warning", `WARNING ${w.key}: ${w.warning}`);
  run.emit("queued", `waiting for a slot in pool ${plan.pool}`);
  try {
    const lease = await traced("exec.pool-acquire", () =>
      (step.request.pools ?? sharedPools).acquire(plan.pool, step.signal),
    );
    run.timings.queued = run.seconds(tq);
    return lease;
  } catch (e) {
    const ended = timerEnded(step.watchdog, plan.timeouts, "for a pool slot");
    step.watchdog.stop();
    if (ended) return ended;
    throw e;
  }
}

/** A warm or cold sandbox; one that cannot start is an INFRASTRUCTURE result. */
async function startBox(step: Step, workspace: string): Promise<TaskSandbox | Ended> {
  const { plan, request, run } = step;
  const ts = performance.now();
  // The SDK the task talks through loads while the sandbox starts (sandbox.client() imports it).
  void import("../opencode/client.js").catch(() => undefined);
  let box: TaskSandbox;
  try {
    box = await traced("exec.acquire-sandbox", () =>
      step.deps.acquireSandbox(plan, workspace, request.taskId ?? "task", {
        signal: step.signal,
        warmPool: request.warmPool,
        onLine: (l) => run.emit("log", l),
        coldPlan: request.coldPlan,
      }),
    );
  } catch (e) {
    const ended = timerEnded(step.watchdog, plan.timeouts, "for its sandbox");
    if (ended) return ended;
    if (request.signal?.aborted) throw new OcboxError("INTERRUPTED", "interrupted; the sandbox was removed");
    const infra = ["SANDBOX_NOT_READY", "SANDBOX_START", "ENGINE"];
    if (!(e instanceof OcboxError && infra.includes(e.code))) throw e;
    const hint = `${e.message}. ${e.fix ?? ""}`.trim();
    return fail({ reason: "INFRASTRUCTURE", kind: null, hint }, e.detail ?? null);
  }
  run.sandbox = box.warm ? "warm" : "cold";
  run.onFirstRequest = box.agentStarted;
  run.timings.sandbox = run.seconds(ts);
  run.emit("sandbox", `${run.sandbox} sandbox ready in ${run.timings.sandbox.toFixed(2)} s`);
  return box;
}

/** The task's session and its event stream, opened side by side (each is a round trip). */
interface OpenedSession {
  session: AgentSession;
  watch: TaskWatch;
  /** performance.now() when the agent's part began (timings.agent). */
  startedAt: number;
}

async function openSession(step: Step, box: TaskSandbox, configs: ConfigText[]): Promise<OpenedSession> {
  const { plan, run } = step;
  const startedAt = performance.now();
  const client = await box.sandbox.client();
  const created = traced("exec.new-session", () => newSession(client, step.request.taskId ?? "ocbox task"));
  const watch = watchTask({
    client,
    sessionId: created,
    run,
    watchdog: step.watchdog,
    rateLimitPatterns: plan.rateLimitPatterns,
    permissions: plan.permissions,
    configs,
  });
  let sessionId: string;
  try {
    [sessionId] = await Promise.all([
      created,
      traced("exec.event-stream-ready", () => Promise.race([watch.ready, sleep(3000)])),
    ]);
  } catch (e) {
    watch.stop();
    throw e;
  }
  run.sessionId = sessionId;
  const agentId = box.sandbox.agentId;
  const session: AgentSession = {
    client,
    sessionId,
    port: box.sandbox.port,
    containerId: agentId,
    egressId: box.sandbox.egressId,
    exec: (argv) => plan.engine.exec(agentId, argv),
  };
  return { session, watch, startedAt };
}

/**
 * The agent container's state once the server has stopped answering: a sandbox on its way down
 * (gVisor's sentry ended by the host-side PID backstop a moment after the server went quiet) is
 * given a few seconds to say so; one still running after them is a live server's error.
 */
async function settledState(engine: Engine, id: string, waitMs = 8000): Promise<ContainerState | undefined> {
  const until = performance.now() + waitMs;
  for (;;) {
    const state = await engine.containerState(id);
    if (!state?.running || performance.now() >= until) return state;
    await sleep(250);
  }
}

/** The agent's turns, watched by the event stream (activity, retries, permission asks). */
async function agentTurns(step: Step, opened: OpenedSession): Promise<Ended> {
  const { plan, request, run } = step;
  const { session, watch } = opened;
  const stopWatching = request.onSession?.(session);
  try {
    return await traced("exec.agent-turns", () =>
      promptLoop({
        plan,
        prompt: request.prompt,
        client: session.client,
        sessionId: session.sessionId,
        run,
        watch,
        watchdog: step.watchdog,
        signal: step.signal,
        interrupt: request.signal,
        deps: step.deps,
      }),
    );
  } catch (e) {
    // The server stopped answering: a sandbox that ended under the task is its result, not a throw.
    if (!(e instanceof OcboxError) || e.code !== "OPENCODE") throw e;
    const state = await settledState(plan.engine, session.containerId);
    const ended = sandboxEnded(state, plan.profile.limits, plan.profile.hardening?.runtime);
    if (ended === undefined) throw e;
    run.emit("log", `the sandbox ended: ${e.message}`);
    return ended;
  } finally {
    watch.stop();
    stopWatching?.();
    run.timings.agent = run.seconds(opened.startedAt);
  }
}
