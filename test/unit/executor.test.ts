import {
  mkdtempSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  symlinkSync,
  writeFileSync,
  readlinkSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { judgeAttempt } from "../../src/executor/attempt.js";
import { baseContract } from "../../src/executor/contract.js";
import { loopbackPorts, parseModelRef, providerBaseURL } from "../../src/executor/model.js";
import { Pools } from "../../src/executor/pool.js";
import { checkModel, knownModels, roleContract } from "../../src/executor/roles.js";
import { exitCodeFor } from "../../src/executor/task.js";
import { Watchdog } from "../../src/executor/watchdog.js";
import { copyBack } from "../../src/sandbox/copy-back.js";
import { DEFAULT_COPY_BACK_CAPS } from "../../src/sandbox/copy-back-policy.js";
import { copyInto } from "../../src/sandbox/workspace-sync.js";

describe("model references and endpoints", () => {
  it("parses provider/model, model ids may hold slashes", () => {
    expect(parseModelRef("openrouter/meta/llama-3")).toEqual({
      providerID: "openrouter",
      modelID: "meta/llama-3",
    });
    expect(() => parseModelRef("gpt-4")).toThrow(/not a model reference/);
    expect(() => parseModelRef("openai/")).toThrow();
  });
  it("finds host loopback ports to forward and the endpoint to report", () => {
    const a = {
      provider: {
        x: { options: { baseURL: "http://127.0.0.1:8080/v1" } },
        y: { options: { baseURL: "http://localhost/v1" } },
      },
    };
    const b = {
      provider: {
        z: { options: { baseURL: "https://api.example.com/v1" } },
        w: { options: { baseURL: "not a url" } },
      },
    };
    expect(loopbackPorts(a, b, undefined)).toEqual([80, 8080]);
    expect(
      providerBaseURL("x", a, { provider: { x: { options: { baseURL: "http://127.0.0.1:9/v1" } } } }),
    ).toBe("http://127.0.0.1:9/v1");
    expect(providerBaseURL("none", a)).toBeNull();
  });
});

describe("roles", () => {
  const known = knownModels({ provider: { local: { models: { qwen: {} } }, any: {} } });
  it("accept configured and built-in providers, reject unknown ones naming where", () => {
    expect(() => checkModel({ providerID: "local", modelID: "qwen" }, known, "role coder")).not.toThrow();
    expect(() => checkModel({ providerID: "any", modelID: "whatever" }, known, "role coder")).not.toThrow();
    expect(() =>
      checkModel({ providerID: "anthropic", modelID: "claude" }, known, "role coder"),
    ).not.toThrow();
    expect(() => checkModel({ providerID: "local", modelID: "llama" }, known, "role coder")).toThrow(
      /role coder: provider "local" has no model "llama"/,
    );
    expect(() => checkModel({ providerID: "ghost", modelID: "m" }, known, "role coder")).toThrow(
      /role coder: unknown provider "ghost"/,
    );
  });
  it("sections become required contract fields", () => {
    const schema = roleContract({ files: "string[]", score: "number" });
    expect(schema.safeParse({ outcome: "COMPLETE", files: ["a"], score: 1 }).success).toBe(true);
    expect(schema.safeParse({ outcome: "COMPLETE", files: "a", score: 1 }).success).toBe(false);
    expect(schema.safeParse({ outcome: "COMPLETE" }).success).toBe(false);
  });
});

describe("judging an attempt", () => {
  const base = { text: "", structured: undefined, error: undefined, rawError: undefined };
  it("validates structured output and falls back to extraction", () => {
    expect(judgeAttempt({ ...base, structured: { outcome: "COMPLETE" } }, baseContract)).toMatchObject({
      kind: "contract",
      via: "structured-output",
    });
    expect(judgeAttempt({ ...base, structured: { outcome: "DONE" } }, baseContract)).toMatchObject({
      kind: "malformed",
    });
    expect(judgeAttempt({ ...base, text: 'ok {"outcome":"ERROR","error":"x"}' }, baseContract)).toMatchObject(
      { kind: "contract", via: "extraction" },
    );
  });
  it("a refused StructuredOutput tool is malformed output, not a provider failure", () => {
    const v = judgeAttempt(
      { ...base, text: "prose", error: { name: "StructuredOutputError", message: "no tool call" } },
      baseContract,
    );
    expect(v).toMatchObject({ kind: "malformed", structuredRefused: true, raw: "prose" });
  });
  it("classifies provider errors; aborts are aborts", () => {
    const auth = {
      name: "APIError",
      data: { message: "Incorrect API key provided", statusCode: 401, isRetryable: false },
    };
    expect(
      judgeAttempt(
        {
          ...base,
          error: { name: "APIError", message: "Incorrect API key provided", statusCode: 401 },
          rawError: auth,
        },
        baseContract,
      ),
    ).toMatchObject({
      kind: "failure",
      hint: { kind: "AUTH", fatal: true },
    });
    expect(
      judgeAttempt({ ...base, error: { name: "MessageAbortedError", message: "" } }, baseContract),
    ).toEqual({ kind: "aborted" });
    expect(judgeAttempt({ ...base, error: { name: "Weird", message: "??" } }, baseContract)).toMatchObject({
      kind: "failure",
      hint: { kind: "MODEL", fatal: false },
    });
  });
});

describe("exit codes", () => {
  it("map outcomes and failure reasons", () => {
    expect(exitCodeFor({ outcome: "COMPLETE", failureReason: null })).toBe(0);
    expect(exitCodeFor({ outcome: "NEEDS_INFO", failureReason: null })).toBe(10);
    expect(exitCodeFor({ outcome: "ERROR", failureReason: null })).toBe(11);
    expect(exitCodeFor({ outcome: "ERROR", failureReason: "INFRASTRUCTURE" })).toBe(17);
  });
});

describe("pools", () => {
  it("serialise a pool of 1 and report the wait; other pools are unlimited", async () => {
    const pools = new Pools();
    pools.define("llama", 1);
    const a = await pools.acquire("llama");
    let bGranted = false;
    const b = pools.acquire("llama").then((l) => ((bGranted = true), l));
    await new Promise((r) => setTimeout(r, 50));
    expect(bGranted).toBe(false);
    expect(pools.stats().llama).toEqual({ max: 1, inUse: 1, queued: 1 });
    a.release();
    a.release(); // idempotent
    const lb = await b;
    expect(lb.waitedS).toBeGreaterThan(0.04);
    lb.release();
    expect(pools.stats().llama).toEqual({ max: 1, inUse: 0, queued: 0 });
    const free = await pools.acquire("cloud");
    expect(free.waitedS).toBeLessThan(0.01);
  });
  it("a waiting acquire can be cancelled; bad sizes are config errors", async () => {
    const pools = new Pools();
    pools.define("one", 1);
    const held = await pools.acquire("one");
    const c = new AbortController();
    const waiting = pools.acquire("one", c.signal);
    c.abort();
    await expect(waiting).rejects.toMatchObject({ code: "INTERRUPTED" });
    held.release();
    expect(() => pools.define("zero", 0)).toThrow(/maxConcurrent/);
  });
});

describe("watchdog", () => {
  it("fires INACTIVITY when not touched, and is kept alive by activity", async () => {
    const w = new Watchdog(10_000, 60);
    w.start();
    w.arm();
    for (let i = 0; i < 4; i++) {
      await new Promise((r) => setTimeout(r, 30));
      w.touch();
    }
    expect(w.fired).toBeUndefined();
    await new Promise((r) => setTimeout(r, 120));
    expect(w.fired).toBe("INACTIVITY");
    expect(w.signal.aborted).toBe(true);
    w.stop();
  });
  it("fires TIMEOUT at the hard cap; null inactivity never fires", async () => {
    const w = new Watchdog(50, null);
    w.start();
    w.arm();
    await new Promise((r) => setTimeout(r, 100));
    expect(w.fired).toBe("TIMEOUT");
    w.stop();
  });
});

describe("workspace sync (warm pool)", () => {
  it("mirrors new, changed and removed entries, keeps symlinks as links", async () => {
    const src = mkdtempSync(join(tmpdir(), "sync-src-"));
    const dst = mkdtempSync(join(tmpdir(), "sync-dst-"));
    writeFileSync(join(src, "same.txt"), "same");
    mkdirSync(join(src, "dir"));
    writeFileSync(join(src, "dir", "a.txt"), "a");
    symlinkSync("/etc/passwd", join(src, "link"));
    await copyInto(src, dst);
    expect(readlinkSync(join(dst, "link"))).toBe("/etc/passwd");
    // The agent works in dst; sync back into src.
    writeFileSync(join(dst, "dir", "a.txt"), "changed");
    writeFileSync(join(dst, "new.txt"), "new");
    writeFileSync(join(dst, "gone.txt"), "x");
    const stats = await copyBack(dst, src, { caps: DEFAULT_COPY_BACK_CAPS });
    expect(readFileSync(join(src, "dir", "a.txt"), "utf8")).toBe("changed");
    expect(readFileSync(join(src, "new.txt"), "utf8")).toBe("new");
    expect(stats.unchanged).toBeGreaterThanOrEqual(2);
    // A deletion in the slot is a deletion in the workspace.
    const again = mkdtempSync(join(tmpdir(), "sync-dst2-"));
    await copyInto(src, again);
    const { rmSync } = await import("node:fs");
    rmSync(join(again, "dir"), { recursive: true });
    rmSync(join(again, "gone.txt"));
    await copyBack(again, src, { caps: DEFAULT_COPY_BACK_CAPS });
    expect(readdirSync(src).sort()).toEqual(["link", "new.txt", "same.txt"]);
  });
});
