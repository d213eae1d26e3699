import { describe, expect, it } from "vitest";
import type { ContainerSummary } from "../../src/runtime/engine.js";
import { LABEL } from "../../src/runtime/labels.js";
import { loanLabel } from "../../src/sandbox/ownership.js";
import { groupByRun } from "../../src/sandbox/reaper.js";
import {
  emptyParts,
  partsFromLabels,
  tearDown,
  teardownPlan,
  type SandboxParts,
} from "../../src/sandbox/teardown.js";

const agentUser = { uid: 64000, gid: 64000 };
const hostUser = { uid: 0, gid: 0 };
const c = (
  name: string,
  role: string,
  labels: Record<string, string> = {},
  run = "r1",
): ContainerSummary => ({
  id: `id-${name}`,
  name,
  image: "i",
  state: "running",
  status: "running",
  createdAt: new Date(0),
  labels: {
    [LABEL.managed]: "true",
    [LABEL.sandbox]: "sb",
    [LABEL.run]: run,
    [LABEL.role]: role,
    [LABEL.runDir]: `/state/runs/${run}`,
    [LABEL.workspace]: "/ws",
    [LABEL.loan]: loanLabel(agentUser, hostUser),
    ...labels,
  },
});
const egressLabels = {
  [LABEL.egressVolume]: "sb-r1-egress",
  [LABEL.egressControl]: "/state/control/e1.json",
};
const vol = (name: string, run: string) => ({ name, labels: { [LABEL.sandbox]: "sb", [LABEL.run]: run } });
const options = { agentStopS: 10, otherStopS: 3 };

describe("partsFromLabels", () => {
  const containers = [c("sb-egress", "egress", egressLabels), c("sb-agent", "agent"), c("sb-apt", "apt")];

  it("finds agents, the other containers, dirs and the run's volumes from the labels", () => {
    const parts = partsFromLabels(containers, [vol("sb-sock", "r1"), vol("sb-sock-other", "r2")], 0);
    expect(parts.agents).toEqual([{ id: "id-sb-agent", name: "sb-agent" }]);
    expect(parts.others.map((o) => o.name)).toEqual(["sb-egress", "sb-apt"]);
    expect(parts.egress).toEqual([{ volume: "sb-r1-egress", control: "/state/control/e1.json" }]);
    expect(parts.runDirs).toEqual(["/state/runs/r1"]);
    // Another run of the sandbox may still use its own volume.
    expect(parts.volumes).toEqual(["sb-sock"]);
    expect(parts.giveBack).toEqual({ workspace: "/ws", hostUser, agentUser });
  });

  it("gives the workspace back only as the loan's host user, from an agent, never for a slot", () => {
    expect(partsFromLabels(containers, [], 1000).giveBack).toBeUndefined();
    expect(partsFromLabels([c("e", "egress")], [], 0).giveBack).toBeUndefined();
    const slot = c("a", "agent", { [LABEL.workspace]: "/state/ocbox/slots/slot-1-2-abc" });
    expect(partsFromLabels([slot], [], 0).giveBack).toBeUndefined();
    expect(partsFromLabels([c("a", "agent", { [LABEL.loan]: "" })], [], 0).giveBack).toBeUndefined();
  });

  it("groups the reaper's containers by run", () => {
    const runs = groupByRun([c("a1", "agent"), c("a2", "agent", {}, "r2"), c("e1", "egress")]);
    expect(runs.map((r) => r.map((x) => x.name))).toEqual([["a1", "e1"], ["a2"]]);
  });
});

describe("teardownPlan", () => {
  it("removes agents, then the sidecar, then collects decisions, then dirs, volumes and the workspace", () => {
    const parts = partsFromLabels(
      [c("sb-egress", "egress", egressLabels), c("sb-agent", "agent")],
      [vol("sb-sock", "r1")],
      0,
    );
    const plan = teardownPlan(parts, { ...options, decisionLog: "/state/egress.jsonl" });
    expect(plan.map((p) => [p.needsContainersGone, p.steps.map((s) => s.kind)])).toEqual([
      [false, ["stop"]],
      [false, ["stop-and-remove", "stop-and-remove"]],
      [true, ["collect-egress"]],
      [true, ["remove-control", "remove-run-dir", "remove-volume", "give-back"]],
    ]);
    expect(plan[0]?.steps[0]).toMatchObject({ container: { name: "sb-agent" }, stopS: 10 });
    expect(plan[1]?.steps[0]).toMatchObject({ container: { name: "sb-agent" }, stopS: 0 });
    expect(plan[1]?.steps[1]).toMatchObject({ container: { name: "sb-egress" }, stopS: 3 });
    expect(plan[2]?.steps[0]).toMatchObject({ decisionLog: "/state/egress.jsonl" });
  });

  it("with no grace for the agent (a task's sandbox), the agent is killed by its removal, beside the sidecar", () => {
    const parts = partsFromLabels([c("sb-egress", "egress", egressLabels), c("sb-agent", "agent")], [], 0);
    const plan = teardownPlan(parts, { ...options, agentStopS: 0 });
    expect(plan[0]?.steps.map((s) => [s.kind, "container" in s ? s.container.name : ""])).toEqual([
      ["stop-and-remove", "sb-agent"],
      ["stop-and-remove", "sb-egress"],
    ]);
    expect(plan[0]?.steps[0]).toMatchObject({ stopS: 0 });
  });

  it("plans nothing for nothing", () => {
    expect(teardownPlan(emptyParts(), options)).toEqual([]);
  });
});

describe("tearDown", () => {
  const fakeEngine = (stuck: string) => {
    const calls: string[] = [];
    return {
      calls,
      engine: {
        stopContainer: (id: string) => (calls.push(`stop ${id}`), Promise.resolve()),
        removeContainer: (id: string) =>
          id === stuck
            ? Promise.reject(new Error("device busy"))
            : (calls.push(`rm ${id}`), Promise.resolve()),
        removeVolume: (name: string) => (calls.push(`rmvol ${name}`), Promise.resolve()),
        volumeExists: () => Promise.resolve(false),
        createContainer: () => Promise.reject(new Error("not in this test")),
        getArchive: () => Promise.resolve(undefined),
      },
    };
  };
  const parts: SandboxParts = {
    ...emptyParts(),
    agents: [{ id: "a", name: "agent" }],
    others: [{ id: "e", name: "egress" }],
    volumes: ["sock"],
    runDirs: ["/nonexistent/ocbox-teardown-test"],
  };

  it("reports a stuck container, never throws, and keeps what it may still use", async () => {
    const { engine, calls } = fakeEngine("e");
    const report = await tearDown(engine, parts, options);
    expect(calls).toEqual(["stop a", "rm a", "stop e"]);
    // (the agent's removal and the sidecar's stop start together, once the agent has stopped)
    expect(report.containers).toEqual(["agent"]);
    expect(report.errors).toEqual(["container egress: device busy"]);
    expect(report.kept).toEqual([
      "dir /nonexistent/ocbox-teardown-test: kept, a container is still there",
      "volume sock: kept, a container is still there",
    ]);
  });

  it("stops the agent before the sidecar and removes the volumes after both", async () => {
    const { engine, calls } = fakeEngine("none");
    const report = await tearDown(engine, { ...parts, runDirs: [] }, options);
    expect(calls).toEqual(["stop a", "rm a", "stop e", "rm e", "rmvol sock"]);
    expect(report).toMatchObject({
      containers: ["agent", "egress"],
      volumes: ["sock"],
      errors: [],
      kept: [],
    });
  });
});
