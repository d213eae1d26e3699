/** Plain-data fixtures shared by unit tests: a sandbox spec, an executor profile, config errors. */
import { parseProjectConfig } from "../../src/config/parse.js";
import { OcboxError } from "../../src/errors.js";
import type { SandboxProfile } from "../../src/plan/sandbox-profile.js";
import { DEFAULT_LIMITS, type SandboxSpec } from "../../src/sandbox/spec.js";

/** The OcboxError that `fn` throws; fails the test when it throws nothing or something else. */
export function errorOf(fn: () => unknown): OcboxError {
  try {
    fn();
  } catch (e) {
    if (e instanceof OcboxError) return e;
    throw e;
  }
  throw new Error("expected an OcboxError");
}

/** The error that parsing `text` as ocbox.yaml gives. */
export const configErrorOf = (text: string): OcboxError =>
  errorOf(() => parseProjectConfig(text, "ocbox.yaml"));

/** A minimal SandboxSpec for pure spec/profile functions. */
export function testSpec(overrides: Partial<SandboxSpec> = {}): SandboxSpec {
  return {
    sandboxId: "app-1",
    runId: "r1",
    workspace: "/w",
    images: { sandbox: "s", egress: "e" },
    agentUser: { uid: 1000, gid: 1000 },
    hostUser: { uid: 1000, gid: 1000 },
    forwardPorts: [],
    hostPort: 0,
    env: {},
    limits: DEFAULT_LIMITS,
    server: { logLevel: "INFO", printLogs: true },
    lifetime: "session",
    readyTimeoutMs: 1000,
    ...overrides,
  };
}

/** A minimal executor SandboxProfile (the warm pool's unit of reuse). */
export const TEST_PROFILE: SandboxProfile = {
  images: { sandbox: "s", egress: "e" },
  opencodeConfig: {},
  forwardPorts: [],
  env: {},
  limits: DEFAULT_LIMITS,
  readyTimeoutMs: 1000,
};
