import { describe, expect, it } from "vitest";
import { applySyncBack } from "../../src/executor/sync-back.js";
import { emptyTokens, exitCodeFor, type TaskResult } from "../../src/executor/task.js";
import { DEFAULT_COPY_BACK_CAPS } from "../../src/sandbox/copy-back-policy.js";
import type { CopyBackReport } from "../../src/sandbox/copy-back.js";

const complete: TaskResult = {
  outcome: "COMPLETE",
  contract: { outcome: "COMPLETE", summary: "done" },
  failureReason: null,
  failureKind: null,
  hint: null,
  attempts: 1,
  recoveredBy: "structured-output",
  sessionId: "ses_1",
  model: null,
  tokens: emptyTokens(),
  cost: 0,
  timings: { queued: 0, sandbox: 0, firstRequest: null, agent: 1, total: 1 },
  sandbox: "warm",
  pool: "default",
  rawOutput: null,
  role: null,
};

const report = (leftOut: CopyBackReport["leftOut"] = []): CopyBackReport => ({
  copied: 3,
  removed: 0,
  unchanged: 1,
  bytes: 10,
  leftOut,
});
const synced = (leftOut: CopyBackReport["leftOut"] = []) =>
  ({ kind: "synced", report: report(leftOut), caps: DEFAULT_COPY_BACK_CAPS }) as const;

describe("applySyncBack (issue 17 failure 2, host-boundary item 10)", () => {
  it("keeps the result when the work came back whole, or the sandbox worked in place", () => {
    expect(applySyncBack(complete, synced())).toEqual(complete);
    expect(applySyncBack(complete, { kind: "in-place" })).toEqual(complete);
  });

  it("a failed copy is INFRASTRUCTURE and says where the work is", () => {
    const r = applySyncBack(complete, {
      kind: "failed",
      step: "copy",
      error: "EIO: i/o error",
      kept: "/state/run/r-1-2-abc",
    });
    expect(r).toMatchObject({ outcome: "ERROR", failureReason: "INFRASTRUCTURE" });
    expect(r.hint).toMatch(
      /could not be copied back.*EIO.*Nothing the agent wrote was deleted: it is in \/state\/run\/r-1-2-abc/,
    );
    expect(exitCodeFor(r)).toBe(17);
  });

  it("a failed stop is INFRASTRUCTURE too", () => {
    const r = applySyncBack(complete, { kind: "failed", step: "stop", error: "engine gone", kept: "/s" });
    expect(r.failureReason).toBe("INFRASTRUCTURE");
    expect(r.hint).toMatch(/did not stop/);
  });

  it("files over the caps end the task OUTPUT_TOO_LARGE, naming them", () => {
    const r = applySyncBack(
      complete,
      synced([{ path: "big", reason: "over-file-cap", size: 10 * 1024 ** 4 }]),
    );
    expect(r).toMatchObject({ outcome: "ERROR", failureReason: "OUTPUT_TOO_LARGE" });
    expect(r.hint).toMatch(/without big \(over the per-file cap, 10 TiB\).*maxFile 2 GiB, maxTotal 20 GiB/);
    expect(r.leftOut).toEqual([{ path: "big", reason: "over-file-cap", size: 10 * 1024 ** 4 }]);
    expect(exitCodeFor(r)).toBe(18);
  });

  it("FIFOs and sockets are listed and warned about; the outcome stands", () => {
    const r = applySyncBack(complete, synced([{ path: "pipe", reason: "fifo" }]));
    expect(r.outcome).toBe("COMPLETE");
    expect(r.warnings).toEqual(["WARNING left out what the host does not keep: pipe (a FIFO)"]);
    expect(r.leftOut).toEqual([{ path: "pipe", reason: "fifo" }]);
  });

  it("an earlier failure keeps its class; the caps add a warning", () => {
    const timedOut: TaskResult = { ...complete, outcome: "ERROR", failureReason: "TIMEOUT", hint: "cap" };
    const r = applySyncBack(timedOut, synced([{ path: "big", reason: "over-total-cap", size: 5 }]));
    expect(r.failureReason).toBe("TIMEOUT");
    expect(r.warnings?.[0]).toMatch(/^WARNING The agent's work came back without big/);
  });
});
