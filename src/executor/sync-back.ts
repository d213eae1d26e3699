/**
 * How the end of a task's sandbox (stop, then the copy of the agent's work back to the host) shapes
 * its result (issue 17 failure 2, host-boundary items 4 and 10). Pure.
 *
 * - The work came back whole: the result stands.
 * - FIFOs, sockets or devices were left out: the result stands, with a warning and `leftOut`.
 * - Files over `limits.copyBack` were left out: `OUTPUT_TOO_LARGE`, listing them. The sandbox's copy
 *   was removed (it is never kept with the oversized files); the rest of the work came back.
 * - The stop or the copy failed: `INFRASTRUCTURE`. Nothing the agent wrote was deleted: the hint
 *   says where the work is.
 */
import { describeLeftOut, formatBytes, isOverCap, type CopyBackCaps } from "../sandbox/copy-back-policy.js";
import type { CopyBackReport } from "../sandbox/copy-back.js";
import type { SyncConflict } from "../sandbox/sync-decision.js";
import type { TaskResult } from "./task.js";

export type SyncBack =
  /** A cold sandbox on the workspace itself: the agent wrote there directly. */
  | { kind: "in-place" }
  /** `conflicts`: copy mode's host edits made during the task (the agent's version beside them). */
  | { kind: "synced"; report: CopyBackReport; caps: CopyBackCaps; conflicts?: SyncConflict[] }
  | { kind: "failed"; step: "stop" | "copy"; error: string; kept: string };

/** What a failed stop or copy means for the agent's work, and where it is. */
export function failedHint(back: Extract<SyncBack, { kind: "failed" }>): string {
  const what =
    back.step === "stop"
      ? "The sandbox did not stop, so the agent's work was not copied back"
      : "The agent's work could not be copied back to the workspace";
  return (
    `${what}: ${back.error}. Nothing the agent wrote was deleted: it is in ${back.kept}. ` +
    "Copy what you need from there, then remove that dir."
  );
}

export function applySyncBack(result: TaskResult, back: SyncBack): TaskResult {
  if (back.kind === "in-place") return result;
  if (back.kind === "failed")
    return {
      ...result,
      outcome: "ERROR",
      failureReason: "INFRASTRUCTURE",
      failureKind: null,
      hint: failedHint(back),
    };
  const withConflicts = conflictWarnings(result, back.conflicts ?? []);
  return applyLeftOut(withConflicts, back);
}

const CONFLICT_TEXT: Record<SyncConflict["kind"], string> = {
  "both-edited": "edited on the host and by the agent; the agent's version is beside it as",
  "agent-deleted": "edited on the host, deleted by the agent; the host's edit was kept",
  "host-deleted": "deleted on the host, edited by the agent; the agent's version was written back",
};

/** One warning per copy-mode conflict (a host edit made while the task ran). */
function conflictWarnings(result: TaskResult, conflicts: readonly SyncConflict[]): TaskResult {
  if (conflicts.length === 0) return result;
  const lines = conflicts.map(
    (c) =>
      `WARNING conflict: ${c.path} ${CONFLICT_TEXT[c.kind]}${c.kind === "both-edited" ? ` ${c.agentCopy ?? "?"}` : ""}`,
  );
  return { ...result, warnings: [...(result.warnings ?? []), ...lines] };
}

function applyLeftOut(result: TaskResult, back: Extract<SyncBack, { kind: "synced" }>): TaskResult {
  const leftOut = back.report.leftOut;
  if (leftOut.length === 0) return result;
  const refused = leftOut.filter((l) => !isOverCap(l));
  const capped = leftOut.filter(isOverCap);
  const warnings = [...(result.warnings ?? [])];
  if (refused.length)
    warnings.push(`WARNING left out what the host does not keep: ${describeLeftOut(refused)}`);
  const withList: TaskResult = { ...result, leftOut, ...(warnings.length ? { warnings } : {}) };
  if (capped.length === 0) return withList;
  const limits = `limits.copyBack (maxFile ${formatBytes(back.caps.maxFileBytes)}, maxTotal ${formatBytes(back.caps.maxTotalBytes)})`;
  const text =
    `The agent's work came back without ${describeLeftOut(capped)}: over ${limits}. ` +
    "The sandbox's copy was removed. If the task needs files that large, raise limits.copyBack in ocbox.yaml.";
  // A failure the task already had stays its class; the caps then add a warning.
  if (result.failureReason) return { ...withList, warnings: [...warnings, `WARNING ${text}`] };
  return {
    ...withList,
    outcome: "ERROR",
    failureReason: "OUTPUT_TOO_LARGE",
    failureKind: null,
    hint: text,
  };
}
