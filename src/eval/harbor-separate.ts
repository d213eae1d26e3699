/**
 * Harbor's _separate_ verifier mode (issue 15 item 5; `[verifier] environment_mode = "separate"`,
 * or a `[verifier.environment]`): the agent's final WORKDIR is read out of its container through
 * the archive API (sandbox/tree-transfer.ts) before that container is removed; only then does a
 * fresh container of the task's image start, with its own egress sidecar on the verifier's
 * network policy (its relays: proxy and host ports, no model gateway), the WORKDIR put back, and
 * the verifier run in it as in shared mode. Nothing else the agent left (files outside the
 * WORKDIR, processes) exists there.
 */
import { errorMessage } from "../errors.js";
import { acquireSandbox } from "../executor/sandbox-source.js";
import type { TaskPlan } from "../executor/task-plan.js";
import { removePaths, stopServerOnly } from "../sandbox/task-phases.js";
import { captureTree, restoreTree, type CapturedTree } from "../sandbox/tree-transfer.js";
import { harborPhaseEgress } from "./harbor-network.js";
import { bringBackAgentSide, runVerifier, stopAgent, type PhaseContext } from "./harbor-phases.js";
import type { TaskImageSandbox } from "../sandbox/task-image-sandbox.js";
import type { HarborTask } from "./harbor-task.js";
import type { VerifierOutcome } from "./unit-record.js";

/** What the agent's side leaves for a separate verifier. */
export interface AgentSide {
  tree: CapturedTree | undefined;
  notes: string[];
  /** What outlived the agent's stop, when something did. */
  left: string | undefined;
  /** Seconds taken to stop the agent and read its side out (counted in the verifier's phase). */
  seconds: number;
}

/** In the agent's container, before it goes: stop the agent, bring its side back, read the WORKDIR. */
export async function captureAgentSide(c: PhaseContext): Promise<AgentSide> {
  const t0 = performance.now();
  const seconds = () => (performance.now() - t0) / 1000;
  const left = await stopAgent(c);
  const notes = await bringBackAgentSide(c);
  if (c.sandbox.workdir === "/")
    return {
      tree: undefined,
      left,
      notes: [...notes, "the workdir is /: nothing is copied to the verifier"],
      seconds: seconds(),
    };
  const tree = await captureTree(c.engine, c.containerId, c.sandbox.workdir, c.caps);
  if (tree?.leftOut.length)
    notes.push(
      `${c.sandbox.workdir}: ${tree.leftOut.length} entr(ies) not given to the verifier (devices, FIFOs, odd names, caps)`,
    );
  return { tree, left, notes, seconds: seconds() };
}

/**
 * The verifier's sandbox: the agent's plan with the verifier phase's egress and its
 * `[verifier.environment]` (cpus, memory_mb, env, workdir) over the task's own. Pure.
 */
export function verifierPlan(plan: TaskPlan, harbor: HarborTask): TaskPlan {
  const egress = harborPhaseEgress(harbor.network, plan.profile.egress).verifier;
  const v = harbor.toml.verifier.environment ?? {};
  const { limits, taskImage } = plan.profile;
  return {
    ...plan,
    profile: {
      ...plan.profile,
      egress,
      limits: {
        ...limits,
        ...(v.cpus !== undefined ? { nanoCpus: Math.round(v.cpus * 1e9) } : {}),
        ...(v.memory_mb !== undefined ? { memoryBytes: v.memory_mb * 1024 ** 2 } : {}),
      },
      ...(taskImage
        ? {
            taskImage: {
              ...taskImage,
              env: { ...taskImage.env, ...v.env },
              ...(v.workdir !== undefined ? { workdir: v.workdir } : {}),
            },
          }
        : {}),
    },
  };
}

/** A fresh container for the verifier, the agent's WORKDIR in it; the outcome, never a throw. */
export async function runSeparateVerifier(
  input: {
    plan: TaskPlan;
    harbor: HarborTask;
    taskId: string;
    scratch: string;
    signal?: AbortSignal | undefined;
  },
  side: AgentSide,
  contextFor: (ids: { agentId: string; egressId: string }, sandbox: TaskImageSandbox) => PhaseContext,
): Promise<{ verifier: VerifierOutcome; notes: string[]; seconds: number }> {
  const t0 = performance.now();
  const seconds = () => side.seconds + (performance.now() - t0) / 1000;
  const plan = verifierPlan(input.plan, input.harbor);
  try {
    const box = await acquireSandbox(plan, input.scratch, `${input.taskId}-v`, {
      ...(input.signal ? { signal: input.signal } : {}),
    });
    let ran: { verifier: VerifierOutcome; notes: string[] };
    try {
      if (!plan.profile.taskImage) throw new Error("the verifier's plan has no task image (planner bug)");
      const c = contextFor(box.sandbox, plan.profile.taskImage);
      const notes = await prepareVerifierBox(c, side);
      const verifier = await runVerifier(c);
      if (side.left) verifier.problem = [side.left, verifier.problem].filter(Boolean).join("; ");
      ran = { verifier, notes: [...side.notes, ...notes] };
    } finally {
      await box.finish();
    }
    return { ...ran, seconds: seconds() };
  } catch (e) {
    const problem = `the separate verifier could not run: ${errorMessage(e)}`;
    const s = seconds();
    return {
      verifier: { reward: null, rewards: {}, exitCode: null, seconds: s, outputTail: "", problem },
      notes: side.notes,
      seconds: s,
    };
  } finally {
    await side.tree?.discard();
  }
}

/** The server gone (the relays stay), the image's WORKDIR replaced by the agent's. */
async function prepareVerifierBox(c: PhaseContext, side: AgentSide): Promise<string[]> {
  const notes: string[] = [];
  const survivors = await stopServerOnly(c.engine, c.containerId, c.sandbox.user);
  if (survivors.length)
    notes.push(`verifier container: the server (pids ${survivors.join(", ")}) outlived its stop`);
  if (!side.tree) return notes;
  const cleared = await removePaths(c.engine, c.containerId, [side.tree.path]);
  if (cleared.exitCode !== 0)
    notes.push(`${side.tree.path}: the image's copy could not be removed; the agent's is put over it`);
  await restoreTree(c.engine, c.containerId, side.tree, c.inside);
  c.trace(`separate verifier: ${side.tree.path} copied in from the agent's container`);
  return notes;
}
