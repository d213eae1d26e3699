/**
 * The approval of capability-granting files (ARCHITECTURE decision 8), decided the same way for
 * every entry point. Inputs: the files the caller read (kind, path, sha256 of the bytes it will
 * use, parsed content), the approval records (data) and how the caller can approve. Output: the
 * plan's ApprovalState, which every entry point obeys through `approvalError`. Pure.
 *
 * - A file is approved when a record holds its kind, path and hash, or the caller passed it
 *   explicitly (`--workflow FILE`, a library option). `--tasks DIR` approves nothing.
 * - `up` (a person's session; the hook runs on the host) asks on any unapproved file.
 * - The unattended entry points (run, eval run, eval judge, bridge, service) stop only for an
 *   unapproved file that holds a weakening key; one with none proceeds (and is not recorded).
 * - `--approve-config` (or `up --approve-hook`) approves and records what is pending.
 */
import { OcboxError } from "../errors.js";
import type { ApprovalFile, ApprovalFileKind, ApprovalHow, ApprovalRecord } from "./approval-files.js";
import { isUnattended, type EntryPoint } from "./entry-point.js";
import { weakeningKeys } from "./weakening.js";

export interface FileVerdict {
  kind: ApprovalFileKind;
  path: string;
  sha256: string;
  /** approved: a record holds these bytes; explicit: passed by the caller; unapproved: neither. */
  status: "approved" | "explicit" | "unapproved";
  weakening: string[];
}

export type ApprovalState =
  /** Every file is approved (`record`: the pending ones the flag approves, for the caller to store). */
  | { kind: "approved"; files: FileVerdict[]; record: FileVerdict[] }
  /** Files are pending and a person can answer (or `ocbox plan` shows what `ocbox approve` would ask). */
  | { kind: "needs-approval"; files: FileVerdict[]; pending: FileVerdict[] }
  /** Files are pending and nobody can approve them: the entry point stops (exit 2). */
  | { kind: "refused"; files: FileVerdict[]; pending: FileVerdict[]; entry: EntryPoint }
  /** Nothing was checked (a library caller that built its plan input by hand). */
  | { kind: "not-checked" };

export const NOT_CHECKED: ApprovalState = { kind: "not-checked" };

export interface ApprovalInput {
  entry: EntryPoint;
  files: readonly ApprovalFile[];
  records: readonly ApprovalRecord[];
  how: ApprovalHow;
}

/** Does a record approve these bytes? A hook record carried over from approved.json has no path. */
export function isRecorded(
  file: Pick<ApprovalFile, "kind" | "path" | "sha256">,
  records: readonly ApprovalRecord[],
) {
  return records.some(
    (r) => r.kind === file.kind && r.sha256 === file.sha256 && (r.path === undefined || r.path === file.path),
  );
}

export function fileVerdict(file: ApprovalFile, records: readonly ApprovalRecord[]): FileVerdict {
  const status = file.explicit ? "explicit" : isRecorded(file, records) ? "approved" : "unapproved";
  return { kind: file.kind, path: file.path, sha256: file.sha256, status, weakening: weakeningKeys(file) };
}

/** Which unapproved files stop this entry point: any for `up`, weakening ones for the rest. */
function isPending(entry: EntryPoint, v: FileVerdict): boolean {
  if (v.status !== "unapproved") return false;
  return isUnattended(entry) ? v.weakening.length > 0 : true;
}

export function decideApproval(input: ApprovalInput): ApprovalState {
  const files = input.files.map((f) => fileVerdict(f, input.records));
  const pending = files.filter((v) => isPending(input.entry, v));
  if (pending.length === 0) return { kind: "approved", files, record: [] };
  if (input.how === "flag") return { kind: "approved", files, record: pending };
  if (input.how === "interactive") return { kind: "needs-approval", files, pending };
  return { kind: "refused", files, pending, entry: input.entry };
}

/** One pending file in words: `ocbox.yaml (unsafe.hostDockerSocket, egress.hostPorts)`. */
export function describePending(v: FileVerdict): string {
  return v.weakening.length ? `${v.path} (${v.weakening.join(", ")})` : `${v.path} (changed)`;
}

/**
 * The error an entry point stops with when the state is not approved; undefined when it may go
 * on. A state a person still has to answer is the caller's to resolve before it plans.
 */
export function approvalError(state: ApprovalState, root: string): OcboxError | undefined {
  if (state.kind === "approved" || state.kind === "not-checked") return undefined;
  const list = state.pending.map(describePending).join("; ");
  const entry = state.kind === "refused" ? state.entry : "up";
  const why = isUnattended(entry)
    ? "it grants the sandbox more than the defaults"
    : "it changed since you last approved it";
  return new OcboxError("CONFIG", `not approved in ${root}: ${list}`, {
    detail:
      `The agent (or whoever wrote the task set or cloned repo) can write these files, and ${why}, so ocbox does not ` +
      "apply them unseen. Approval is by content: the same bytes need it once per project root.",
    fix: `Read them; if they are what you want, run \`ocbox approve ${root}\` (it shows the diff), or pass --approve-config${entry === "up" ? " to `ocbox up` (or --approve-hook, or run it in a terminal and answer)" : ""}.`,
  });
}

/** Throw what `approvalError` says; the one way every entry point obeys the state. */
export function obeyApproval(state: ApprovalState, root: string): void {
  const error = approvalError(state, root);
  if (error) throw error;
}
