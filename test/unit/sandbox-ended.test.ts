import { describe, expect, it } from "vitest";
import { sandboxEnded } from "../../src/executor/sandbox-ended.js";

const limits = { memoryBytes: 1024 ** 3, pids: 256 };
const state = { running: false, exitCode: 137, health: undefined, startedAt: "" };

describe("a sandbox that ended under its task", () => {
  it("is no end while the agent container runs", () => {
    expect(sandboxEnded({ ...state, running: true, exitCode: undefined }, limits, "runsc")).toBeUndefined();
  });
  it("is INFRASTRUCTURE / SANDBOX, naming the OOM killer and the limit", () => {
    expect(sandboxEnded({ ...state, oomKilled: true }, limits, "runsc")).toMatchObject({
      outcome: "ERROR",
      failureReason: "INFRASTRUCTURE",
      failureKind: "SANDBOX",
      contract: null,
    });
    const hint = sandboxEnded({ ...state, oomKilled: true }, limits, "runsc")?.hint ?? "";
    expect(hint).toMatch(/under runsc.*OOM killer.*1024 MiB/);
    expect(hint).toMatch(/whole sandbox/);
  });
  it("names an exit code, or a container that is gone; runc gets no gVisor sentence", () => {
    expect(sandboxEnded(state, limits, undefined)?.hint).toMatch(/exited with code 137/);
    expect(sandboxEnded(state, limits, undefined)?.hint).not.toMatch(/gVisor/);
    expect(sandboxEnded(undefined, limits, "runsc")?.hint).toMatch(/its container is gone/);
  });
});
