/**
 * The executor's state machine (issue 17) with a fake OpenCode client, a fake sandbox and a hand
 * clock: retries, the structurer, the timers, the failure classes and permission asks. No Docker.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { OcboxError } from "../../src/errors.js";
import { executeTask, type ExecutorDeps } from "../../src/executor/run-task.js";
import type { TaskPlan } from "../../src/executor/task-plan.js";
import { Watchdog } from "../../src/executor/watchdog.js";
import {
  FakeOpencode,
  ManualClock,
  SESSION,
  fakeDeps,
  fakePlan,
  hang,
  type Step,
} from "./fakes/fake-opencode.js";

const contract = { outcome: "COMPLETE" as const, summary: "done" };
const apiError = (statusCode: number, message: string) => ({
  error: { name: "APIError", data: { message, statusCode, isRetryable: statusCode >= 429 } },
});

function workspace(opencodeJson?: string): string {
  const ws = mkdtempSync(join(tmpdir(), "ocbox-fake-"));
  if (opencodeJson) writeFileSync(join(ws, "opencode.json"), opencodeJson);
  return ws;
}

async function run(
  steps: Step[],
  plan: Partial<TaskPlan> = {},
  extra: Partial<ExecutorDeps> = {},
  ws = workspace(),
) {
  const fake = new FakeOpencode(steps);
  const { deps, sleeps } = fakeDeps(fake, extra);
  const result = await executeTask(fakePlan(plan), { workspace: ws, prompt: "do it" }, deps);
  return { result, fake, sleeps };
}

describe("the executor's state machine (fake OpenCode)", () => {
  it("a structured answer completes in one attempt, with usage and the model", async () => {
    const { result, fake } = await run([{ structured: contract }]);
    expect(result).toMatchObject({
      outcome: "COMPLETE",
      contract,
      attempts: 1,
      recoveredBy: "structured-output",
      sessionId: SESSION,
      model: { providerID: "fake", modelID: "fake-model" },
      cost: 0.01,
    });
    expect(result.permissionAsks).toBeUndefined();
    expect(fake.prompts).toEqual(["do it"]);
  });

  it("prose goes to the structurer once; its contract is the result", async () => {
    const structurer: ExecutorDeps["runStructurer"] = () =>
      Promise.resolve({
        contract: { ...contract },
        message: "recovered",
        tokens: { input: 1, output: 1, reasoning: 0, cacheRead: 0, cacheWrite: 0 },
        cost: 0,
      });
    const { result } = await run([{ text: "I fixed it." }], {}, { runStructurer: structurer });
    expect(result).toMatchObject({ outcome: "COMPLETE", recoveredBy: "structurer", attempts: 1 });
  });

  it("malformed output is re-prompted stricter, then ends MALFORMED_OUTPUT with the raw output", async () => {
    const { result, fake } = await run([{ text: "no" }, { text: "still no" }, { text: "never" }], {
      structurer: { enabled: false, model: undefined },
    });
    expect(result).toMatchObject({ failureReason: "MALFORMED_OUTPUT", attempts: 3, rawOutput: "never" });
    expect(fake.prompts[1]).not.toBe("do it");
  });

  it("a model error is retried and a later success counts as recovered by retry", async () => {
    const { result } = await run([apiError(500, "boom"), { structured: contract }]);
    expect(result).toMatchObject({ outcome: "COMPLETE", attempts: 2, recoveredBy: "retry" });
  });

  it("a rate limit backs off (the injected sleep) and gives up after maxRateLimitRetries", async () => {
    const limited = apiError(429, "Too Many Requests");
    const { result, sleeps } = await run([limited, limited, limited], { maxRateLimitRetries: 2 });
    expect(result).toMatchObject({ failureReason: "RATE_LIMIT", attempts: 3 });
    expect(sleeps).toHaveLength(2);
  });

  it("a fatal provider retry on the stream stops the attempt at once: INFRASTRUCTURE", async () => {
    const refuse: Step = (f, signal) => {
      f.push({
        type: "session.status",
        properties: {
          sessionID: SESSION,
          status: {
            type: "retry",
            attempt: 1,
            message: "Cannot connect to API: Unable to connect.",
            next: 0,
          },
        },
      });
      return hang(f, signal);
    };
    const { result, fake } = await run([refuse]);
    expect(result).toMatchObject({ failureReason: "INFRASTRUCTURE", failureKind: "NETWORK", attempts: 1 });
    expect(fake.aborts).toBeGreaterThan(0);
  });

  it("the inactivity timer (hand clock) ends a hanging prompt: INACTIVITY", async () => {
    const clock = new ManualClock();
    const tick: Step = (f, signal) => {
      setTimeout(() => clock.advance(1200_000), 10);
      return hang(f, signal);
    };
    const { result } = await run([tick], {}, { clock });
    expect(result).toMatchObject({ failureReason: "INACTIVITY", outcome: "ERROR" });
    expect(result.hint).toContain("1200 s");
    expect(clock.pending).toBe(0);
  });

  it("a sandbox that cannot start is an INFRASTRUCTURE result, not an exception", async () => {
    const acquireSandbox = () =>
      Promise.reject(new OcboxError("SANDBOX_START", "the agent container did not start", { fix: "Look." }));
    const { result } = await run([], {}, { acquireSandbox });
    expect(result).toMatchObject({ failureReason: "INFRASTRUCTURE", attempts: 0, sandbox: "none" });
  });

  it("the hard cap firing while the task waits for its sandbox: TIMEOUT, no sandbox, and the hint says so", async () => {
    const clock = new ManualClock();
    const acquireSandbox: ExecutorDeps["acquireSandbox"] = (_plan, _ws, _id, options) =>
      new Promise((_resolve, reject) => {
        options.signal?.addEventListener("abort", () =>
          reject(new OcboxError("SANDBOX_START", "aborted while starting")),
        );
        setTimeout(() => clock.advance(7200_000), 10);
      });
    const { result } = await run([], {}, { clock, acquireSandbox });
    expect(result).toMatchObject({
      outcome: "ERROR",
      failureReason: "TIMEOUT",
      sandbox: "none",
      attempts: 0,
    });
    expect(result.hint).toContain("while it waited for its sandbox");
    expect(clock.pending).toBe(0);
  });
});

const askingConfig = '{\n  "permission": {\n    "bash": "ask"\n  }\n}\n';

describe("permission asks (fake OpenCode)", () => {
  const asksThenStops: Step = async (f) => {
    f.ask("per_1", "bash", ["rm -rf /tmp/x"]);
    await new Promise((r) => setTimeout(r, 20));
    // A rejected ask ends OpenCode's agent loop: the answer has no contract.
    return { text: "" };
  };

  it("the default policy rejects the ask, records it with its config line and ends PERMISSION", async () => {
    const { result, fake } = await run([asksThenStops], {}, {}, workspace(askingConfig));
    expect(fake.replies).toEqual([{ requestID: "per_1", reply: "reject" }]);
    expect(result).toMatchObject({ failureReason: "PERMISSION", attempts: 1 });
    expect(result.permissionAsks).toEqual([
      {
        permission: "bash",
        patterns: ["rm -rf /tmp/x"],
        answer: "reject",
        configLine: { file: "opencode.json", line: 3, text: '"bash": "ask"' },
      },
    ]);
    expect(result.hint).toContain("opencode.json:3");
  });

  it("autonomous allows the ask and the task goes on to its contract", async () => {
    const allowed: Step = async (f) => {
      f.ask("per_2", "bash", ["ls"]);
      await new Promise((r) => setTimeout(r, 20));
      return { structured: contract };
    };
    const { result, fake } = await run([allowed], { permissions: "autonomous" }, {}, workspace(askingConfig));
    expect(fake.replies).toEqual([{ requestID: "per_2", reply: "once" }]);
    expect(result).toMatchObject({ outcome: "COMPLETE" });
    expect(result.permissionAsks?.[0]).toMatchObject({ answer: "once", permission: "bash" });
  });

  it("an ask lost by the stream is found in the pending list after a reconnect", async () => {
    const lost: Step = async (f) => {
      f.ask("per_3", "edit", ["/workspace/a"], { onStream: false });
      f.push({ type: "server.connected" });
      await new Promise((r) => setTimeout(r, 20));
      return { structured: contract };
    };
    const { result, fake } = await run([lost], { permissions: "autonomous" });
    expect(fake.replies).toEqual([{ requestID: "per_3", reply: "once" }]);
    // No workspace config: OpenCode's own defaults asked.
    expect(result.permissionAsks).toEqual([
      { permission: "edit", patterns: ["/workspace/a"], answer: "once", configLine: null },
    ]);
  });

  it("an ask whose reply fails ends the task at once: PERMISSION, not INACTIVITY", async () => {
    const clock = new ManualClock();
    const unanswerable: Step = (f, signal) => {
      f.replyFails = true;
      f.ask("per_4", "bash", ["make"]);
      return hang(f, signal);
    };
    const { result, fake } = await run([unanswerable], {}, { clock }, workspace(askingConfig));
    expect(result).toMatchObject({ failureReason: "PERMISSION", attempts: 1 });
    expect(result.permissionAsks?.[0]).toMatchObject({ answer: "unanswered" });
    expect(result.permissionAsks?.[0]?.error).toContain("connection reset");
    expect(result.hint).toContain("could not answer");
    expect(fake.aborts).toBeGreaterThan(0);
  });
});

describe("the watchdog on a hand clock", () => {
  it("inactivity fires only while armed and restarts on activity; the hard cap fires once", () => {
    const clock = new ManualClock();
    const w = new Watchdog(10_000, 1_000, clock);
    w.start();
    clock.advance(5_000);
    expect(w.fired).toBeUndefined();
    w.arm();
    clock.advance(900);
    w.touch();
    clock.advance(900);
    expect(w.fired).toBeUndefined();
    w.disarm();
    clock.advance(3_000);
    expect(w.fired).toBeUndefined();
    clock.advance(2_000);
    expect(w.fired).toBe("TIMEOUT");
    expect(w.signal.aborted).toBe(true);
    w.stop();
    expect(clock.pending).toBe(0);
  });

  it("with no activity for the inactivity time it fires INACTIVITY", () => {
    const clock = new ManualClock();
    const w = new Watchdog(10_000, 1_000, clock);
    w.start();
    w.arm();
    clock.advance(1_000);
    expect(w.fired).toBe("INACTIVITY");
    w.stop();
  });
});

describe("sub-agent asks (fake OpenCode)", () => {
  it("an ask from another session on the task's server (a sub-agent's) is answered too", async () => {
    const fake = new FakeOpencode([
      async (f) => {
        f.push({
          type: "permission.asked",
          properties: { id: "per_9", sessionID: "ses_child", permission: "bash", patterns: ["ls"] },
        });
        await new Promise((r) => setTimeout(r, 20));
        return { structured: contract };
      },
    ]);
    const { deps } = fakeDeps(fake);
    const plan = fakePlan({ permissions: "autonomous" });
    const result = await executeTask(plan, { workspace: workspace(), prompt: "go" }, deps);
    expect(fake.replies).toEqual([{ requestID: "per_9", reply: "once" }]);
    expect(result.permissionAsks).toHaveLength(1);
  });
});
