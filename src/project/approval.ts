/**
 * Approval of the host-side inputs the agent could rewrite (FEATURES A9). The agent can write the
 * workspace, so it could edit the pre-start hook (which runs on the host) or ocbox.yaml (which
 * decides which host variables and ports the sandbox gets). ocbox keeps the hashes the person
 * approved in the state dir and does not run or apply a changed file until they approve it again.
 * The decision is pure; reading and writing the record is at the bottom.
 */
import { createHash } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { z } from "zod";
import { OcboxError, errorMessage } from "../errors.js";
import { parseVersioned } from "../util/versioned-file.js";

/** approved.json's format (absent in a file written before versions: read as 1). */
export const APPROVALS_VERSION = 1;

const sha = z.string().regex(/^[0-9a-f]{64}$/, "a sha256 in hex");
const approvalsSchema = z.object({
  version: z.literal(APPROVALS_VERSION).default(APPROVALS_VERSION),
  /** sha256 of the hook's content; null: approved that there is no hook. */
  hook: sha.nullable().optional(),
  config: sha.optional(),
});

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

/** The approval record's content, checked. Pure. */
export function parseApprovals(text: string, file: string): Approvals {
  const fix = `Delete ${file}: ocbox then asks you to approve the hook and ocbox.yaml again.`;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new OcboxError("CONFIG", `${file}: the approval record is not JSON`, {
      detail: errorMessage(e),
      fix,
    });
  }
  const { hook, config } = parseVersioned(approvalsSchema, value, {
    where: file,
    what: "approval record",
    current: APPROVALS_VERSION,
    fix,
  });
  return { ...(hook === undefined ? {} : { hook }), ...(config === undefined ? {} : { config }) };
}

/** What was approved; nothing yet when there is no record. An unreadable record is an error. */
export async function readApprovals(file: string): Promise<Approvals> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return {};
    throw new OcboxError("CONFIG", `cannot read the approval record ${file}: ${code ?? errorMessage(e)}`, {
      cause: e,
      fix: "Check the permissions of the state dir; it must belong to you.",
    });
  }
  return parseApprovals(text, file);
}

export async function writeApprovals(file: string, approvals: Approvals): Promise<void> {
  const record = { version: APPROVALS_VERSION, ...approvals };
  await writeFile(file, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
}
