/**
 * The structurer (FEATURES E5): when the agent narrates its work but its answer is no valid
 * Agent Contract, one call to a fast model, in a separate sandbox with an empty workspace,
 * extracts the contract from the narrative. It summarises faithfully; it must not invent claims.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { newSession, promptAndWait } from "../opencode/prompt.js";
import { startSandbox } from "../sandbox/start.js";
import { judgeAttempt } from "./attempt.js";
import { contractJsonSchema, instructionBlock, type BaseContract } from "./contract.js";
import type { TaskPlan } from "./task-plan.js";
import { specFor, taskSandboxId } from "./task-sandbox-spec.js";
import type { Tokens } from "./task.js";

export const STRUCTURER_MARKER = "ocbox structurer";

export function structurerPrompt(narrative: string): string {
  return [
    `[${STRUCTURER_MARKER}] An agent finished a task and described the result below, but did not give`,
    "its answer in the required JSON form. Extract that answer from the narrative. Be faithful: do not",
    "invent claims, files or results that the narrative does not state. If the narrative says the work",
    "is done, the outcome is COMPLETE; if it asks questions, NEEDS_INFO; if it reports a failure, ERROR.",
    "",
    "<narrative>",
    narrative.length > 60_000 ? `${narrative.slice(0, 10_000)}\n…\n${narrative.slice(-50_000)}` : narrative,
    "</narrative>",
  ].join("\n");
}

export interface StructurerResult {
  contract: BaseContract | undefined;
  message: string;
  tokens: Tokens;
  cost: number;
}

export async function runStructurer(
  plan: TaskPlan,
  narrative: string,
  options: { signal?: AbortSignal; onLine?: (line: string) => void },
): Promise<StructurerResult> {
  const signal = AbortSignal.any([
    AbortSignal.timeout(plan.timeouts.structurerS * 1000),
    ...(options.signal ? [options.signal] : []),
  ]);
  const workspace = await mkdtemp(join(tmpdir(), "ocbox-structurer-"));
  const sandbox = await startSandbox(
    plan.engine,
    // Only text in, text out: no Docker socket (C8) and no apt helper (C9) even when the task has one.
    specFor(
      { ...plan.profile, hostDockerSocket: false, aptAllow: [] },
      workspace,
      taskSandboxId("structurer"),
    ),
    { signal },
  );
  try {
    const client = await sandbox.client();
    const sessionId = await newSession(client, "ocbox structurer");
    const model = plan.structurer.model ?? plan.model;
    const outcome = await promptAndWait(client, {
      sessionId,
      text: plan.structuredOutput
        ? structurerPrompt(narrative)
        : `${structurerPrompt(narrative)}\n\n${instructionBlock(plan.contract)}`,
      ...(plan.structuredOutput ? { schema: contractJsonSchema(plan.contract) } : {}),
      ...(model ? { model } : {}),
      signal,
    });
    const verdict = judgeAttempt(outcome, plan.contract);
    const base = { tokens: outcome.tokens, cost: outcome.cost };
    if (verdict.kind === "contract") return { ...base, contract: verdict.contract, message: "recovered" };
    if (verdict.kind === "malformed") return { ...base, contract: undefined, message: verdict.message };
    if (verdict.kind === "failure") return { ...base, contract: undefined, message: verdict.hint.hint };
    return { ...base, contract: undefined, message: "the structurer was aborted" };
  } finally {
    await sandbox.stop().catch(() => undefined);
    await rm(workspace, { recursive: true, force: true }).catch(() => undefined);
  }
}
