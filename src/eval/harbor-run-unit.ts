/**
 * The eval runner's side of a Harbor unit: its plan (the run's plan with the task's own image as
 * the sandbox, decided by the planner), its folder, its events, and its files, with the verifier's
 * outcome and the phase timings in `unit.json`.
 */
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { OcboxError, errorMessage } from "../errors.js";
import type { TaskPlan } from "../executor/task-plan.js";
import type { TaskResult } from "../executor/task.js";
import type { WarmPool } from "../executor/warm-pool.js";
import { profileWarnings } from "../plan/plan.js";
import { taskImageProfile, TaskUserError } from "../plan/task-image-plan.js";
import { harborPhaseEgress } from "./harbor-network.js";
import type { HarborEnvironment } from "./harbor-prepare.js";
import { runHarborUnit, type HarborUnitOutcome } from "./harbor-unit.js";
import type { LoggingSettings } from "./logging.js";
import type { UnitStreamEvent } from "./progress.js";
import type { TaskDef } from "./task-set.js";
import { infraResult, writeUnitFiles } from "./unit-files.js";
import type { UnitRecord } from "./unit-record.js";
import type { Unit } from "./units.js";

const NO_POLICY = {
  agent: { mode: "no-network" as const, allowedHosts: [] },
  verifier: { mode: "no-network" as const, allowedHosts: [] },
};

/** The run's plan for a Harbor task: the planner's task-image variant of its profile. */
export function harborPlan(
  plan: TaskPlan,
  task: TaskDef,
  environments: Map<string, HarborEnvironment> | undefined,
): TaskPlan {
  const env = environments?.get(task.id);
  if (!env) throw new OcboxError("SANDBOX_START", `task ${task.id}: its image was not prepared`);
  if (!env.ok) throw new OcboxError("SANDBOX_START", env.error);
  try {
    const profile = taskImageProfile(plan.profile, env.facts);
    // The agent phase's own network policy (harbor-network.ts): the project's allowlist never widens it.
    const egress = harborPhaseEgress(task.harbor?.network ?? NO_POLICY, plan.profile.egress).agent;
    return { ...plan, profile: { ...profile, egress } };
  } catch (e) {
    if (!(e instanceof TaskUserError)) throw e;
    throw new OcboxError("SANDBOX_START", `task ${task.id}: [agent].user: ${e.message}`, {
      fix: "Give [agent].user as a user the image has, or as a numeric uid.",
    });
  }
}

/** Each Harbor task's WARNING lines (a root task's `task.root`), for the manifest. */
export function harborTaskWarnings(
  plan: TaskPlan,
  tasks: readonly TaskDef[],
  environments: Map<string, HarborEnvironment> | undefined,
): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const t of tasks) {
    const env = environments?.get(t.id);
    if (!env?.ok) continue;
    const lines = planWarnings(harborPlan(plan, t, environments));
    if (lines.length) out[t.id] = lines;
  }
  return out;
}

const planWarnings = (p: TaskPlan) => profileWarnings(p.profile);

const environmentOf = (task: TaskDef, environments: Map<string, HarborEnvironment> | undefined) => {
  const env = environments?.get(task.id);
  return env?.ok ? env.build : { seconds: 0, cached: true };
};

/** What a Harbor unit takes of the run's options. */
export interface HarborRunOptions {
  oracle?: boolean | undefined;
  signal?: AbortSignal | undefined;
  logging: Pick<LoggingSettings, "verbose">;
  onEvent?: ((e: UnitStreamEvent) => void) | undefined;
}

/** One Harbor unit, its folder written; a unit whose sandbox cannot be planned fails alone. */
export function runHarborWith(environments: Map<string, HarborEnvironment> | undefined) {
  return async (
    unit: Unit,
    planned: () => Promise<TaskPlan>,
    _warmPoolFor: (plan: TaskPlan) => WarmPool | undefined,
    outputDir: string,
    options: HarborRunOptions,
  ): Promise<{ result: TaskResult; record: UnitRecord }> => {
    const harbor = unit.task.harbor;
    if (!harbor) throw new Error("runHarbor: not a Harbor task");
    const dir = join(outputDir, unit.dir);
    const scratch = join(dir, "agent-workspace");
    await rm(dir, { recursive: true, force: true });
    await mkdir(scratch, { recursive: true, mode: 0o700 });
    const emit = (e: UnitStreamEvent) => options.onEvent?.(e);
    const trace = (line: string) => options.logging.verbose && emit({ type: "trace", unit: unit.key, line });
    const started = performance.now();
    let ran: HarborUnitOutcome | undefined;
    let result: TaskResult;
    try {
      ran = await runHarborUnit({
        plan: await planned(),
        harbor,
        taskId: `${unit.task.id}-r${unit.repeat}`,
        prompt: unit.task.prompt,
        unitDir: dir,
        scratch,
        oracle: options.oracle === true,
        verifierTimeoutS: harbor.toml.verifier.timeout_sec,
        environment: environmentOf(unit.task, environments),
        trace,
        request: {
          ...(options.signal ? { signal: options.signal } : {}),
          onEvent: (e) => {
            if (e.phase === "log") return;
            emit({ type: "phase", unit: unit.key, phase: e.phase, message: e.message });
          },
        },
      });
      result = ran.result;
    } catch (e) {
      if (options.signal?.aborted) throw e;
      result = infraResult(errorMessage(e), (performance.now() - started) / 1000);
    }
    await rm(scratch, { recursive: true, force: true });
    await mkdir(join(dir, "workspace"), { recursive: true, mode: 0o700 });
    const record = await writeUnitFiles(unit, dir, {
      result,
      check: null,
      exported: ran?.session ?? null,
      harbor: {
        ...(ran?.verifier ? { verifier: ran.verifier } : {}),
        ...(ran ? { timings: ran.timings } : {}),
        ...(options.oracle ? { oracle: true } : {}),
      },
    });
    return { result, record };
  };
}
