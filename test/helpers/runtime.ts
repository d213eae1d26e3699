/**
 * The gVisor leg (`.ci/leg-gvisor`): `OCBOX_TEST_RUNTIME=runsc` runs the agent containers of the
 * tests that use these helpers (the attack suite, the executor's tests) under that registered
 * runtime, through the same `hardening.runtime` a user sets. Unset: the engine's default.
 */
import { defaultProjectConfig, type ProjectConfig } from "../../src/config/project-schema.js";
import { DEFAULT_HARDENING, type Hardening } from "../../src/sandbox/hardening.js";

export const TEST_RUNTIME: string | undefined = process.env["OCBOX_TEST_RUNTIME"] || undefined;

/** The hardening a test's SandboxSpec gets: the default, under TEST_RUNTIME when set. */
export function testHardening(): { hardening?: Hardening } {
  return TEST_RUNTIME === undefined ? {} : { hardening: { ...DEFAULT_HARDENING, runtime: TEST_RUNTIME } };
}

/** The project config a test passes to runTask: none (the default), or one that names TEST_RUNTIME. */
export function testConfig(): { config?: ProjectConfig } {
  if (TEST_RUNTIME === undefined) return {};
  const config = defaultProjectConfig();
  return { config: { ...config, hardening: { ...config.hardening, runtime: TEST_RUNTIME } } };
}

/**
 * A time budget of the engine's default runtime for a task that includes its cold start, under
 * TEST_RUNTIME: the task's own sandbox start given back (gVisor's is slower, 8–16 s here against
 * runc's 2–4 s; the bench reports it), and twice the budget for what follows it (OpenCode's
 * session and first request run under the sentry too). The budget itself on the default runtime.
 */
export function runtimeBudgetS(budgetS: number, result: { timings: { sandbox: number } }): number {
  return TEST_RUNTIME === undefined ? budgetS : result.timings.sandbox + 2 * budgetS;
}
