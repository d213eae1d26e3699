import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ensureImages, type ImageSet } from "../../src/image/build.js";
import { runTask, type RunTaskOptions } from "../../src/executor/prepare.js";
import { Pools } from "../../src/executor/pool.js";
import { DockerEngine } from "../../src/runtime/docker-engine.js";
import { LABEL } from "../../src/runtime/labels.js";
import { startScriptedModel, type ScriptedModel } from "../../src/scripted-model/server.js";
import { scriptedOpencodeConfig } from "../../src/scripted-model/opencode-config.js";
import type { ScenarioInput } from "../../src/scripted-model/scenario.js";
import { freePort } from "../../src/util/free-port.js";
import { runtimeBudgetS, testConfig } from "../helpers/runtime.js";

const engine = new DockerEngine();
let images: ImageSet;
let model: ScriptedModel | undefined;

beforeAll(async () => {
  images = await ensureImages(engine);
});

afterEach(async () => {
  await model?.close();
  model = undefined;
  // After every test no labelled container of this process is left.
  expect(await engine.listContainers([`${LABEL.ownerPid}=${process.pid}`], true)).toEqual([]);
});

afterAll(async () => {
  expect(await engine.listVolumes([`${LABEL.ownerPid}=${process.pid}`])).toEqual([]);
});

function workspace(): string {
  const ws = mkdtempSync(join(tmpdir(), "ocbox-exec-"));
  writeFileSync(join(ws, "README.md"), "a task workspace\n");
  return ws;
}

async function task(scenario: ScenarioInput, extra: Partial<RunTaskOptions> = {}) {
  model = await startScriptedModel({ scenario });
  const started = performance.now();
  const startedAt = Date.now();
  const result = await runTask({
    workspace: workspace(),
    prompt: "Do the task.",
    model: "scripted/scripted",
    opencodeConfig: scriptedOpencodeConfig(model.url),
    engine,
    images,
    ...testConfig(),
    ...extra,
  });
  return { result, seconds: (performance.now() - started) / 1000, model, startedAt };
}

const contract = { outcome: "COMPLETE", summary: "done" };
const prose = "I looked at the code and fixed the bug. All tests pass now.";

describe("runTask", () => {
  it("structured output succeeds, validated, with model, endpoint, tokens and timings", async () => {
    const { result, model: m, startedAt } = await task({ turns: [{ structured: contract }] });
    expect(result).toMatchObject({
      outcome: "COMPLETE",
      contract,
      failureReason: null,
      attempts: 1,
      recoveredBy: "structured-output",
      sandbox: "cold",
      model: { providerID: "scripted", modelID: "scripted", endpoint: m.url },
    });
    expect(result.sessionId).toMatch(/^ses_/);
    expect(result.tokens.input).toBeGreaterThan(0);
    expect(result.timings.sandbox).toBeGreaterThan(0);
    // firstRequest: from the call to the server's first model call (its first assistant message),
    // after the sandbox was ready and never after the scripted model saw that call. How long the call
    // took to arrive is the engine's network (seconds on rootless Podman's slirp4netns under load):
    // a figure for the bench, not a bound here.
    const first = result.timings.firstRequest;
    const seen = ((m.requests.find((r) => r.answeredBy === "turn")?.at ?? 0) - startedAt) / 1000;
    expect(first).not.toBeNull();
    expect(first).toBeGreaterThanOrEqual(result.timings.queued + result.timings.sandbox);
    expect(first).toBeLessThanOrEqual(result.timings.total);
    expect(first).toBeLessThanOrEqual(seen + 0.05);
    // OpenCode was asked for wire-enforced structure: the StructuredOutput tool, required.
    const chat = m.requests.find((r) => r.answeredBy === "turn")?.body as {
      tools?: Array<{ function: { name: string } }>;
      tool_choice?: unknown;
    };
    expect(chat.tools?.map((t) => t.function.name)).toContain("StructuredOutput");
    expect(chat.tool_choice).toBe("required");
  });

  it("a prose answer is recovered by the structurer", async () => {
    const { result } = await task({
      turns: [
        { text: prose },
        { match: "ocbox structurer", structured: { outcome: "COMPLETE", summary: "fixed the bug" } },
      ],
    });
    expect(result).toMatchObject({
      outcome: "COMPLETE",
      recoveredBy: "structurer",
      attempts: 1,
      contract: { summary: "fixed the bug" },
    });
  });

  it("when the structurer fails too, a stricter re-prompt succeeds", async () => {
    const { result, model: m } = await task({
      turns: [
        { text: prose },
        { match: "ocbox structurer", text: "I cannot tell." },
        { text: 'Here it is:\n```json\n{"outcome": "NEEDS_INFO", "questions": ["Which branch?"]}\n```' },
      ],
    });
    expect(result).toMatchObject({
      outcome: "NEEDS_INFO",
      recoveredBy: "retry",
      attempts: 2,
      contract: { questions: ["Which branch?"] },
    });
    expect(m.remainingTurns()).toBe(0);
  });

  it("when every retry fails, the result is ERROR with the raw output, not an exception", async () => {
    const { result } = await task(
      {
        turns: [{ text: prose }, { match: "ocbox structurer", text: "no" }, { text: "Still prose, sorry." }],
      },
      { maxRetriesOnMalformedOutput: 1 },
    );
    expect(result).toMatchObject({
      outcome: "ERROR",
      failureReason: "MALFORMED_OUTPUT",
      attempts: 2,
      contract: null,
    });
    expect(result.rawOutput).toContain("Still prose, sorry.");
  });

  it("a 401 is INFRASTRUCTURE/AUTH within 10 s, with a hint and no retry", async () => {
    const { result, seconds } = await task({
      turns: [
        {
          status: 401,
          body: { error: { message: "Incorrect API key provided", type: "invalid_request_error" } },
        },
      ],
    });
    expect(result).toMatchObject({
      outcome: "ERROR",
      failureReason: "INFRASTRUCTURE",
      failureKind: "AUTH",
      attempts: 1,
    });
    expect(result.hint).toMatch(/key|credential|auth/i);
    expect(seconds).toBeLessThan(runtimeBudgetS(10, result));
  });

  it("an unreachable endpoint is INFRASTRUCTURE/NETWORK within 15 s", async () => {
    const closed = await freePort();
    const started = performance.now();
    const result = await runTask({
      workspace: workspace(),
      prompt: "Do the task.",
      model: "scripted/scripted",
      opencodeConfig: scriptedOpencodeConfig(`http://127.0.0.1:${closed}/v1`),
      engine,
      images,
      ...testConfig(),
    });
    expect(result).toMatchObject({
      outcome: "ERROR",
      failureReason: "INFRASTRUCTURE",
      failureKind: "NETWORK",
    });
    expect((performance.now() - started) / 1000).toBeLessThan(runtimeBudgetS(15, result));
  });

  it("a 429 backs off, then succeeds", async () => {
    const { result, model: m } = await task({
      turns: [
        { status: 429, headers: { "retry-after": "1" }, body: { error: { message: "Rate limit reached" } } },
        { structured: contract },
      ],
    });
    expect(result).toMatchObject({ outcome: "COMPLETE", failureReason: null });
    expect(m.requests.filter((r) => r.answeredBy === "turn")).toHaveLength(2);
  });

  it("a hanging model trips the inactivity timeout", async () => {
    const { result, seconds } = await task({ turns: [{ hang: true }] }, { timeouts: { inactivityS: 3 } });
    expect(result).toMatchObject({ outcome: "ERROR", failureReason: "INACTIVITY" });
    expect(result.hint).toMatch(/no activity for 3 s/);
    expect(seconds).toBeLessThan(30);
  });

  it("the hard cap fires", async () => {
    const { result, seconds } = await task(
      { turns: [{ hang: true }] },
      { timeouts: { hardS: 8, inactivityS: null } },
    );
    expect(result).toMatchObject({ outcome: "ERROR", failureReason: "TIMEOUT" });
    expect(seconds).toBeLessThan(30);
  });

  it("a pool of 1 serialises two tasks", async () => {
    model = await startScriptedModel({
      scenario: {
        turns: [
          { structured: contract, delayMs: 1500 },
          { structured: contract, delayMs: 1500 },
        ],
      },
    });
    const pools = new Pools();
    pools.define("scripted", 1);
    const one = () =>
      runTask({
        workspace: workspace(),
        prompt: "Do it.",
        model: "scripted/scripted",
        opencodeConfig: scriptedOpencodeConfig(model!.url),
        engine,
        images,
        pools,
      });
    const [a, b] = await Promise.all([one(), one()]);
    expect([a.outcome, b.outcome]).toEqual(["COMPLETE", "COMPLETE"]);
    const waited = Math.max(a.timings.queued, b.timings.queued);
    const firstTotal = Math.min(a.timings.total, b.timings.total);
    expect(waited).toBeGreaterThan(firstTotal - 1);
  });

  it("an unknown role or provider fails at startup, before any sandbox", async () => {
    const before = await engine.listContainers([`${LABEL.managed}=true`], true);
    await expect(
      runTask({ workspace: workspace(), prompt: "x", role: "reviewer", engine, images }),
    ).rejects.toMatchObject({
      code: "CONFIG",
      message: expect.stringMatching(/unknown role "reviewer"/) as unknown,
    });
    await expect(
      runTask({ workspace: workspace(), prompt: "x", model: "nosuch/model", engine, images }),
    ).rejects.toMatchObject({
      code: "CONFIG",
      message: expect.stringMatching(/unknown provider "nosuch"/) as unknown,
    });
    const ws = workspace();
    writeFileSync(join(ws, "ocbox.yaml"), "roles:\n  coder:\n    model: ghost/m1\n");
    await expect(
      runTask({ workspace: ws, prompt: "x", role: "coder", engine, images }),
    ).rejects.toMatchObject({
      code: "CONFIG",
      message: expect.stringMatching(/role coder: unknown provider "ghost"/) as unknown,
    });
    expect((await engine.listContainers([`${LABEL.managed}=true`], true)).length).toBe(before.length);
  });

  it("the agent's edit lands in the workspace (cold start edits in place)", async () => {
    model = await startScriptedModel({
      scenario: {
        turns: [
          {
            toolCalls: [
              {
                name: "write",
                arguments: { filePath: "/workspace/out.txt", content: "made by the agent\n" },
              },
            ],
          },
          { structured: contract },
        ],
      },
    });
    const ws = workspace();
    const result = await runTask({
      workspace: ws,
      prompt: "Write out.txt",
      model: "scripted/scripted",
      opencodeConfig: scriptedOpencodeConfig(model.url),
      engine,
      images,
      ...testConfig(),
    });
    expect(result.outcome).toBe("COMPLETE");
    expect(readFileSync(join(ws, "out.txt"), "utf8")).toBe("made by the agent\n");
  });
});

describe("the warm pool", () => {
  it("serves a task from a ready sandbox: fast start, the workspace's own opencode.json honoured, edits and deletions synced back", async () => {
    model = await startScriptedModel({
      scenario: {
        turns: [
          {
            toolCalls: [
              { name: "write", arguments: { filePath: "/workspace/new.txt", content: "new\n" } },
              {
                name: "bash",
                arguments: {
                  command: "rm /workspace/old.txt && echo changed >> /workspace/README.md",
                  description: "edit",
                },
              },
            ],
          },
          { structured: contract },
        ],
      },
    });
    const ws = workspace();
    writeFileSync(join(ws, "old.txt"), "to be removed\n");
    // The provider comes only from the workspace's own config, which OpenCode reads from the copy.
    writeFileSync(join(ws, "opencode.json"), JSON.stringify(scriptedOpencodeConfig(model.url)));
    const { planTask } = await import("../../src/executor/prepare.js");
    const { executeTask } = await import("../../src/executor/run-task.js");
    const { WarmPool } = await import("../../src/executor/warm-pool.js");
    const plan = await planTask({
      workspace: ws,
      prompt: "edit",
      model: "scripted/scripted",
      // The workspace's opencode.json points at a loopback model: a weakening key, approved here.
      approveConfig: true,
      engine,
      images,
    });
    const pool = new WarmPool(engine, plan.profile, { size: 1 });
    try {
      await pool.whenFull();
      expect(pool.readyCount).toBe(1);
      const result = await executeTask(plan, { workspace: ws, prompt: "edit", warmPool: pool });
      expect(result).toMatchObject({ outcome: "COMPLETE", sandbox: "warm" });
      expect(result.timings.sandbox).toBeLessThan(1);
      expect(readFileSync(join(ws, "new.txt"), "utf8")).toBe("new\n");
      expect(readFileSync(join(ws, "README.md"), "utf8")).toBe("a task workspace\nchanged\n");
      expect(() => readFileSync(join(ws, "old.txt"))).toThrow();
      expect(statSync(join(ws, "new.txt")).uid).toBe(process.getuid?.());
    } finally {
      await pool.close();
    }
  });
});

describe("the warm task's critical path (issue 16)", () => {
  /** A task on the scripted model the test started. */
  const options = (ws: string): RunTaskOptions => ({
    workspace: ws,
    prompt: "Do the task.",
    model: "scripted/scripted",
    opencodeConfig: scriptedOpencodeConfig((model as ScriptedModel).url),
    engine,
    images,
    ...testConfig(),
  });

  it("a warm task runs no engine path probe; when the pool has none left it starts cold on the probed plan", async () => {
    const { planTask } = await import("../../src/executor/prepare.js");
    const { WarmPool } = await import("../../src/executor/warm-pool.js");
    const { setTraceSink } = await import("../../src/util/trace.js");
    model = await startScriptedModel({
      scenario: { turns: [{ structured: contract }, { structured: contract }] },
    });
    const plan = await planTask(options(workspace()));
    // One sandbox in all: the second task finds the pool empty and nothing starting.
    const pool = new WarmPool(engine, plan.profile, { size: 1, limit: 1 });
    const steps: string[] = [];
    setTraceSink((s) => steps.push(s.name));
    try {
      await pool.whenFull();
      const events: string[] = [];
      const warm = await runTask({
        ...options(workspace()),
        warmPool: pool,
        onEvent: (e) => events.push(e.message),
      });
      expect(warm).toMatchObject({ outcome: "COMPLETE", sandbox: "warm" });
      expect(events).toContain("workspace: copied into a warm sandbox, synced back at the end");
      expect(steps).toContain("exec.acquire-sandbox");
      expect(steps).not.toContain("plan.path-probe");
      steps.length = 0;
      const cold = await runTask({ ...options(workspace()), warmPool: pool });
      expect(cold).toMatchObject({ outcome: "COMPLETE", sandbox: "cold" });
      expect(steps).toContain("plan.path-probe");
    } finally {
      setTraceSink(undefined);
      await pool.close();
    }
  });

  it("the refill a warm task makes room for starts at the task's first model request, not before it", async () => {
    const { planTask } = await import("../../src/executor/prepare.js");
    const { WarmPool } = await import("../../src/executor/warm-pool.js");
    const { setTraceSink } = await import("../../src/util/trace.js");
    model = await startScriptedModel({ scenario: { turns: [{ structured: contract, delayMs: 1500 }] } });
    const plan = await planTask(options(workspace()));
    const pool = new WarmPool(engine, plan.profile, { size: 1 });
    const creates: number[] = [];
    try {
      await pool.whenFull();
      setTraceSink((s) => {
        if (s.name === "start.create-containers") creates.push(performance.timeOrigin + s.startMs);
      });
      const calledAt = Date.now();
      const warm = await runTask({ ...options(workspace()), warmPool: pool });
      expect(warm).toMatchObject({ outcome: "COMPLETE", sandbox: "warm" });
      const firstRequestAt = calledAt + (warm.timings.firstRequest ?? Infinity) * 1000;
      // The refill began while the model was still answering (1.5 s), after the request.
      await pool.whenFull();
      expect(creates).toHaveLength(1);
      expect(creates[0]).toBeGreaterThanOrEqual(firstRequestAt - 20);
      expect(creates[0]).toBeLessThan(calledAt + warm.timings.total * 1000);
      expect(pool.readyCount).toBe(1);
    } finally {
      setTraceSink(undefined);
      await pool.close();
    }
  });
});
