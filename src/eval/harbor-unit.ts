/**
 * One unit of a Harbor task (issue 15): the agent (or, with `--oracle`, solution/solve.sh) in the
 * task's own image, then the verifier in the container it left, whatever the agent's outcome;
 * logs, artifacts and the final WORKDIR copied back; the phases timed. The verifier's outcome
 * goes into `UnitRecord.verifier`, the phases into `UnitRecord.timings`.
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { errorMessage } from "../errors.js";
import { acquireSandbox, profileWarnings } from "../executor/sandbox-source.js";
import { executeTask, type AgentSession, type TaskRequest } from "../executor/run-task.js";
import type { TaskPlan } from "../executor/task-plan.js";
import { emptyTokens, type TaskResult } from "../executor/task.js";
import { DEFAULT_COPY_BACK_CAPS } from "../sandbox/copy-back-policy.js";
import type { TaskImageSandbox } from "../sandbox/task-image-sandbox.js";
import { verifierMode } from "../config/harbor-task-schema.js";
import { bringBackAgentSide, runOracle, runVerifier, stopAgent, type PhaseContext } from "./harbor-phases.js";
import { harborPhaseEgress, sharedVerifierRelays } from "./harbor-network.js";
import { restartRelays } from "../sandbox/task-phases.js";
import { switchEgressPolicy } from "../sandbox/egress-phase.js";
import { captureAgentSide, runSeparateVerifier, type AgentSide } from "./harbor-separate.js";
import type { HarborTask } from "./harbor-task.js";
import { recordSession } from "./session-export.js";
import type { UnitTimings, VerifierOutcome } from "./unit-record.js";

export interface HarborUnitInput {
  plan: TaskPlan;
  harbor: HarborTask;
  taskId: string;
  prompt: string;
  unitDir: string;
  /** An empty dir (nothing of the host is mounted; the executor wants one). */
  scratch: string;
  oracle: boolean;
  /** Seconds, after --timeout-multiplier. */
  verifierTimeoutS: number;
  environment: { seconds: number; cached: boolean };
  request: Pick<TaskRequest, "signal" | "onEvent" | "onSession">;
  trace: (line: string) => void;
}

export interface HarborUnitOutcome {
  result: TaskResult;
  verifier: VerifierOutcome | undefined;
  timings: UnitTimings;
  /** The agent's session (session-export.ts), exported before its server was stopped; null for the oracle. */
  session: unknown;
}

function contextFor(
  input: HarborUnitInput,
  ids: { agentId: string; egressId: string },
  sandbox: TaskImageSandbox,
): PhaseContext {
  return {
    engine: input.plan.engine,
    containerId: ids.agentId,
    egressId: ids.egressId,
    harbor: input.harbor,
    sandbox,
    unitDir: input.unitDir,
    caps: input.plan.profile.copyBack ?? DEFAULT_COPY_BACK_CAPS,
    verifierTimeoutS: input.verifierTimeoutS,
    hostPorts: input.plan.profile.forwardPorts,
    inside: input.plan.profile.hardening?.runtime !== undefined,
    trace: input.trace,
  };
}

/**
 * The verifier's own network policy in the agent's sidecar (the agent is stopped: nothing of it
 * runs), then its relays: host ports, and the proxy when its policy allows something.
 */
async function verifierNetwork(c: PhaseContext): Promise<void> {
  const t0 = performance.now();
  await switchEgressPolicy(c.engine, c.egressId, harborPhaseEgress(c.harbor.network, undefined).verifier);
  c.trace(`verifier: its network policy loaded in ${((performance.now() - t0) / 1000).toFixed(2)} s`);
  const ports = sharedVerifierRelays(c.harbor.network.verifier, c.hostPorts);
  await restartRelays(c.engine, c.containerId, c.sandbox.user, ports);
}

type After = { verifier: VerifierOutcome; notes: string[]; seconds: number };

/** The phases after the agent: stop it, bring its side back, its network, verify. Never throws. */
async function afterAgentPhases(c: PhaseContext): Promise<After> {
  const t0 = performance.now();
  const seconds = () => (performance.now() - t0) / 1000;
  try {
    const left = await stopAgent(c);
    const notes = await bringBackAgentSide(c);
    await verifierNetwork(c);
    const verifier = await runVerifier(c);
    if (left) verifier.problem = [left, verifier.problem].filter(Boolean).join("; ");
    return { verifier, notes, seconds: seconds() };
  } catch (e) {
    const problem = `the verifier could not run: ${errorMessage(e)}`;
    return {
      verifier: { reward: null, rewards: {}, exitCode: null, seconds: seconds(), outputTail: "", problem },
      notes: [],
      seconds: seconds(),
    };
  }
}

export async function runHarborUnit(input: HarborUnitInput): Promise<HarborUnitOutcome> {
  const sandbox = input.plan.profile.taskImage;
  if (!sandbox) throw new Error("runHarborUnit: the plan has no task image (planner bug)");
  await mkdir(join(input.unitDir, "logs"), { recursive: true, mode: 0o700 });
  const ran = input.oracle ? await oracleRun(input, sandbox) : await agentRun(input, sandbox);
  const timings: UnitTimings = {
    environmentBuild: input.environment.seconds,
    environmentCached: input.environment.cached,
    agentSetup: ran.result.timings.sandbox,
    agent: ran.result.timings.agent,
    // The whole phase: the agent's stop, its side read back, the verifier's network (or its
    // container, separate mode), /tests up, test.sh, the reward and /logs/verifier read back.
    verifier: ran.verifier ? ran.verifierSeconds : null,
  };
  for (const n of ran.notes) input.trace(n);
  const verifier = ran.verifier ? { ...ran.verifier, mode: verifierMode(input.harbor.toml) } : undefined;
  return { result: ran.result, verifier, timings, session: ran.session ?? null };
}

type Ran = {
  result: TaskResult;
  verifier: VerifierOutcome | undefined;
  verifierSeconds: number;
  notes: string[];
  session?: unknown;
};

const afterOf = (after: After | undefined) => ({
  verifier: after?.verifier,
  verifierSeconds: after?.seconds ?? 0,
  notes: after?.notes ?? [],
});

/** Separate mode: the verifier in a fresh container once the agent's is gone. */
const separateAfter = (input: HarborUnitInput, sandbox: TaskImageSandbox, side: AgentSide | undefined) =>
  side
    ? runSeparateVerifier({ ...input, signal: input.request.signal }, side, (ids, own) =>
        contextFor(input, ids, own),
      )
    : undefined;

/**
 * The agent's turns, then (in the container it leaves) the session exported from its server while
 * the server still runs, then the phases after the agent (shared mode) or the agent's side captured
 * for a fresh verifier container (separate mode). The export is the server's answer: checked and
 * capped as a sandbox unit's (session-export.ts).
 */
async function agentRun(input: HarborUnitInput, sandbox: TaskImageSandbox): Promise<Ran> {
  const separate = verifierMode(input.harbor.toml) === "separate";
  let after: After | undefined;
  let recorder: ReturnType<typeof recordSession> | undefined;
  let session: unknown = null;
  let side: AgentSide | undefined;
  const result = await executeTask(input.plan, {
    workspace: input.scratch,
    prompt: input.prompt,
    taskId: input.taskId,
    ...input.request,
    onSession: (s: AgentSession) => {
      recorder = recordSession(s.client, s.sessionId);
      return input.request.onSession?.(s);
    },
    afterAgent: async (s: AgentSession) => {
      session = await recorder?.export().catch((e: unknown) => ({ error: errorMessage(e) }));
      recorder?.stop();
      const c = contextFor(input, { agentId: s.containerId, egressId: s.egressId }, sandbox);
      if (separate) side = await captureAgentSide(c);
      else after = await afterAgentPhases(c);
    },
  });
  recorder?.stop();
  // executeTask has removed the agent's sandbox by now.
  if (separate) after = await separateAfter(input, sandbox, side);
  return { result, ...afterOf(after), session };
}

/** `--oracle`: the same sandbox, solve.sh in the agent's place (no model), then the verifier. */
async function oracleRun(input: HarborUnitInput, sandbox: TaskImageSandbox): Promise<Ran> {
  const t0 = performance.now();
  for (const w of profileWarnings(input.plan.profile))
    input.request.onEvent?.({ phase: "warning", message: w });
  const box = await acquireSandbox(input.plan, input.scratch, input.taskId, {
    ...(input.request.signal ? { signal: input.request.signal } : {}),
  });
  const setup = (performance.now() - t0) / 1000;
  const separate = verifierMode(input.harbor.toml) === "separate";
  let solved: Awaited<ReturnType<typeof runOracle>>;
  let after: After | undefined;
  let side: AgentSide | undefined;
  try {
    const c = contextFor(input, box.sandbox, sandbox);
    solved = await runOracle(c, input.plan.timeouts.hardS);
    if (separate) side = await captureAgentSide(c);
    else after = await afterAgentPhases(c);
  } finally {
    await box.finish();
  }
  if (separate) after = await separateAfter(input, sandbox, side);
  const result = oracleResult(solved.exitCode === 0, oracleHint(input.harbor, solved), {
    sandbox: setup,
    agent: solved.seconds,
    total: (performance.now() - t0) / 1000,
  });
  return { result, ...afterOf(after) };
}

function oracleHint(harbor: HarborTask, solved: Awaited<ReturnType<typeof runOracle>>): string | null {
  if (!harbor.solutionDir) return "the task has no solution/solve.sh";
  if (solved.exitCode === 0) return null;
  return solved.timedOut ? "solve.sh ran over the agent's timeout" : `solve.sh exited ${solved.exitCode}`;
}

function oracleResult(
  ok: boolean,
  hint: string | null,
  t: { sandbox: number; agent: number; total: number },
): TaskResult {
  return {
    outcome: ok ? "COMPLETE" : "ERROR",
    contract: null,
    failureReason: null,
    failureKind: null,
    hint,
    attempts: 0,
    recoveredBy: null,
    sessionId: null,
    model: null,
    tokens: emptyTokens(),
    cost: 0,
    timings: { queued: 0, sandbox: t.sandbox, firstRequest: null, agent: t.agent, total: t.total },
    sandbox: "cold",
    pool: null,
    rawOutput: null,
    role: null,
  };
}
