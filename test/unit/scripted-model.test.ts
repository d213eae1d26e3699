import { describe, expect, it } from "vitest";
import { parseScenario } from "../../src/scripted-model/scenario.js";
import { selectResponse, streamChunks, completionFor, usageFor } from "../../src/scripted-model/respond.js";
import { shouldReap, resourceLabels } from "../../src/runtime/labels.js";

describe("scripted model", () => {
  const scenario = parseScenario({ turns: [{ text: "a" }, { match: "second", text: "b" }] });
  it("answers title requests apart without consuming a turn", () => {
    expect(selectResponse(scenario, new Set(), "You are a title generator. x")).toEqual({
      kind: "side",
      text: "Scripted session",
    });
  });
  it("answers turns in order and honours match", () => {
    expect(selectResponse(scenario, new Set(), "first")).toMatchObject({ kind: "turn", index: 0 });
    expect(selectResponse(scenario, new Set([0]), "nothing")).toEqual({ kind: "exhausted" });
    expect(selectResponse(scenario, new Set([0]), "the second one")).toMatchObject({
      kind: "turn",
      index: 1,
    });
  });
  it("streams tool calls with a tool_calls finish", () => {
    const c = completionFor({ toolCalls: [{ name: "write", arguments: { a: 1 } }] });
    if (!c) throw new Error("no completion");
    const chunks = streamChunks(c, "m", usageFor("x", c), 10);
    expect(chunks.at(-1)).toBe("[DONE]");
    expect(chunks.join("\n")).toContain('"finish_reason":"tool_calls"');
  });
  it("rejects a bad scenario with the field named", () => {
    expect(() => parseScenario({ turns: [{ txt: "a" }] })).toThrow(/not a valid scripted-model scenario/);
  });
});

describe("reaper decisions", () => {
  const labels = resourceLabels({
    sandboxId: "s",
    runId: "r",
    role: "agent",
    owner: { host: "h", pid: 42, start: "1" },
    lifetime: "session",
    startedAt: new Date(0),
  });
  it("reaps only dead owners on this host, never detached sandboxes", () => {
    expect(shouldReap(labels, "h", () => "dead")).toBe(true);
    expect(shouldReap(labels, "h", () => "alive")).toBe(false);
    expect(shouldReap(labels, "other", () => "dead")).toBe(false);
    expect(shouldReap({ ...labels, "dev.ocbox.lifetime": "detached" }, "h", () => "dead")).toBe(false);
  });
});
