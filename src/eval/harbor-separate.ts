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
import type { HarborTask } from "./harbor-task.js";
import type { VerifierOutcome } from "./unit-record.js";

/** What the agent's side leaves for a separate verifier. */
export interface AgentSide {
  tree: CapturedTree | undefined;
  notes: string[];
  /** What outlived the agent's stop, when something did. */
  left: string | undefined;
}

/** In the agent's container, before it goes: stop the agent, bring its side back, read the WORKDIR. */
export async function captureAgentSide(c: PhaseContext): Promise<AgentSide> {
  const left = await stopAgent(c);
  const notes = await bringBackAgentSide(c);
  if (c.sandbox.workdir === "/")
    return {
      tree: undefined,
      left,
      notes: [...notes, "the workdir is /: nothing is copied to the verifier"],
    };
  const tree = await captureTree(c.engine, c.containerId, c.sandbox.workdir, c.caps);
  if (tree?.leftOut.length)
    notes.push(
      `${c.sandbox.workdir}: ${tree.leftOut.length} entr(ies) not given to the verifier (devices, FIFOs, odd names, caps)`,
    );
  return { tree, left, notes };
}

/** The verifier's sandbox: the agent's plan with the verifier phase's egress. Pure. */
export function verifierPlan(plan: TaskPlan, harbor: HarborTask): TaskPlan {
  const egress = harborPhaseEgress(harbor.network, plan.profile.egress).verifier;
  return { ...plan, profile: { ...plan.profile, egress } };
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
  contextFor: (containerId: string) => PhaseContext,
): Promise<{ verifier: VerifierOutcome; notes: string[] }> {
  const t0 = performance.now();
  try {
    const box = await acquireSandbox(
      verifierPlan(input.plan, input.harbor),
      input.scratch,
      `${input.taskId}-v`,
      {
        ...(input.signal ? { signal: input.signal } : {}),
      },
    );
    try {
      const c = contextFor(box.sandbox.agentId);
      const notes = await prepareVerifierBox(c, side);
      const verifier = await runVerifier(c);
      if (side.left) verifier.problem = [side.left, verifier.problem].filter(Boolean).join("; ");
      return { verifier, notes: [...side.notes, ...notes] };
    } finally {
      await box.finish();
    }
  } catch (e) {
    const seconds = (performance.now() - t0) / 1000;
    const problem = `the separate verifier could not run: ${errorMessage(e)}`;
    return {
      verifier: { reward: null, rewards: {}, exitCode: null, seconds, outputTail: "", problem },
      notes: side.notes,
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
