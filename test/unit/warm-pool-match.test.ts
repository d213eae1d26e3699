/**
 * Which warm sandbox may run which task (executor/task-sandbox-spec.ts): the same sandbox, and a
 * models file holding every provider the task may call. No Docker.
 */
import { describe, expect, it } from "vitest";
import { canServe, profileKey, withModelProviders } from "../../src/executor/task-sandbox-spec.js";
import type { SandboxProfile } from "../../src/plan/sandbox-profile.js";
import { DEFAULT_LIMITS } from "../../src/sandbox/spec.js";

const base: SandboxProfile = {
  images: { sandbox: "ocbox-sandbox:x", egress: "ocbox-egress:y" },
  opencodeConfig: { model: "scripted/scripted" },
  forwardPorts: [],
  env: {},
  limits: DEFAULT_LIMITS,
  readyTimeoutMs: 60_000,
  modelProviders: ["opencode", "scripted"],
};
const anthropic = { ...base, modelProviders: ["anthropic", "opencode", "scripted"] };

describe("a warm sandbox and a task's models file", () => {
  it("serves a task whose providers its file holds, never one it lacks a provider of", () => {
    expect(canServe(base, base)).toBe(true);
    expect(canServe(anthropic, base)).toBe(true);
    expect(canServe(base, anthropic)).toBe(false);
    // No file is the whole catalogue: it serves anything; a task that wants the whole one needs it.
    const whole = { ...base, modelProviders: undefined };
    expect(canServe(whole, anthropic)).toBe(true);
    expect(canServe(base, whole)).toBe(false);
    // Anything else that differs is another sandbox.
    expect(canServe(anthropic, { ...base, env: { X: "1" } })).toBe(false);
  });

  it("the key tells the sets apart; an eval's pool takes the union of its units' providers", () => {
    expect(profileKey(anthropic)).not.toBe(profileKey(base));
    const pool = withModelProviders(base, ["anthropic", "scripted", "openai"]);
    expect(pool.modelProviders).toEqual(["anthropic", "openai", "opencode", "scripted"]);
    expect(canServe(pool, anthropic) && canServe(pool, base)).toBe(true);
    expect(withModelProviders(base, [])).toBe(base);
    expect(withModelProviders({ ...base, modelProviders: undefined }, ["x"]).modelProviders).toBeUndefined();
  });
});
