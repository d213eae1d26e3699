/**
 * Approval of the host-side inputs the agent could rewrite (FEATURES A9). The agent can write the
 * workspace, so it could edit the pre-start hook (which runs on the host) or ocbox.yaml (which
 * decides which host variables and ports the sandbox gets). ocbox keeps the hashes the person
 * approved in the state dir and does not run or apply a changed file until they approve it again.
 * The decision is pure; reading and writing the record is at the bottom.
 */
import { createHash } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";

export interface Approvals {
  /** sha256 of the hook's content; null: approved that there is no hook. */
  hook?: string | null;
  config?: string;
}

export interface CurrentInputs {
  /** undefined: the hook file does not exist. */
  hook: string | undefined;
  config: string;
}

export type ApprovalDecision =
  | { action: "proceed" }
  | { action: "record"; changed: ChangedInput[] }
  | { action: "ask"; changed: ChangedInput[] }
  | { action: "refuse"; changed: ChangedInput[] };

export type ChangedInput = "hook" | "config";

export function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** Hashes of the current inputs, in the record's form. */
export function currentApprovals(inputs: CurrentInputs): Required<Approvals> {
  return { hook: inputs.hook === undefined ? null : sha256(inputs.hook), config: sha256(inputs.config) };
}

/** What changed since the approval. A hook that is gone, or was never there, needs nothing. */
export function changedInputs(approved: Approvals, inputs: CurrentInputs): ChangedInput[] {
  const now = currentApprovals(inputs);
  const changed: ChangedInput[] = [];
  if (now.hook !== null && approved.hook !== now.hook) changed.push("hook");
  if (approved.config !== now.config) changed.push("config");
  return changed;
}

/**
 * proceed: nothing changed. record: changed, but approved by flag. ask: changed, a person is at a
 * terminal. refuse: changed, no terminal and no flag.
 */
export function approvalDecision(
  approved: Approvals,
  inputs: CurrentInputs,
  how: { flag: boolean; interactive: boolean },
): ApprovalDecision {
  const changed = changedInputs(approved, inputs);
  if (changed.length === 0) return { action: "proceed" };
  if (how.flag) return { action: "record", changed };
  return how.interactive ? { action: "ask", changed } : { action: "refuse", changed };
}

export async function readApprovals(file: string): Promise<Approvals> {
  const text = await readFile(file, "utf8").catch(() => undefined);
  if (text === undefined) return {};
  try {
    const value = JSON.parse(text) as Approvals;
    return typeof value === "object" && value !== null ? value : {};
  } catch {
    return {};
  }
}

export async function writeApprovals(file: string, approvals: Approvals): Promise<void> {
  await writeFile(file, `${JSON.stringify(approvals, null, 2)}\n`, { mode: 0o600 });
}
