import { describe, expect, it } from "vitest";
import type { ContainerSummary } from "../../src/runtime/engine.js";
import { LABEL, type Owner } from "../../src/runtime/labels.js";
import { loanLabel, parseLoan } from "../../src/sandbox/ownership.js";
import { containersToReap } from "../../src/sandbox/reaper.js";
import { runDirOwner, runDirPrefix } from "../../src/sandbox/run-dir.js";

const c = (name: string, labels: Record<string, string>, state = "running"): ContainerSummary => ({
  id: name,
  name,
  image: "i",
  state,
  status: state,
  createdAt: new Date(0),
  labels: {
    [LABEL.managed]: "true",
    [LABEL.ownerHost]: "h",
    [LABEL.ownerPid]: "10",
    [LABEL.ownerStart]: "5",
    [LABEL.lifetime]: "session",
    ...labels,
  },
});
const deadIf = (pid: number) => (o: Owner) => (o.pid === pid ? "dead" : "alive");

describe("containersToReap", () => {
  it("takes session containers whose owner is dead, on this host only", () => {
    const all = [c("a", {}), c("b", { [LABEL.ownerPid]: "11" }), c("other-host", { [LABEL.ownerHost]: "x" })];
    expect(containersToReap(all, "h", deadIf(10), false).map((x) => x.name)).toEqual(["a"]);
  });
  it("leaves detached sandboxes alone unless asked for stopped ones", () => {
    const all = [
      c("up", { [LABEL.lifetime]: "detached" }),
      c("exited", { [LABEL.lifetime]: "detached" }, "exited"),
    ];
    expect(containersToReap(all, "h", deadIf(10), false)).toEqual([]);
    expect(containersToReap(all, "h", deadIf(10), true).map((x) => x.name)).toEqual(["exited"]);
  });
  it("never touches unlabelled or unattributed containers", () => {
    const stranger: ContainerSummary = { ...c("s", {}), labels: {} };
    const noOwner = c("n", { [LABEL.ownerPid]: "" });
    expect(containersToReap([stranger, noOwner], "h", () => "dead", true)).toEqual([]);
  });
  it("keeps containers whose owner's liveness is unknown", () => {
    expect(containersToReap([c("a", {})], "h", () => "unknown", false)).toEqual([]);
  });
});

describe("run dir names and loans", () => {
  it("encode the owner and read back", () => {
    const prefix = runDirPrefix({ host: "h", pid: 42, start: "1234" });
    expect(runDirOwner(`${prefix}AbC123`, "h")).toEqual({ host: "h", pid: 42, start: "1234" });
    expect(runDirOwner("r-42-0-x1", "h")).toEqual({ host: "h", pid: 42, start: "" });
    expect(runDirOwner("something-else", "h")).toBeUndefined();
  });
  it("loan labels round-trip and reject junk", () => {
    const loan = { agentUser: { uid: 64000, gid: 64000 }, hostUser: { uid: 0, gid: 0 } };
    expect(parseLoan(loanLabel(loan.agentUser, loan.hostUser))).toEqual(loan);
    expect(parseLoan("64000>0")).toBeUndefined();
    expect(parseLoan(undefined)).toBeUndefined();
  });
});
