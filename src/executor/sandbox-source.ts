/**
 * Where a task's sandbox comes from. Cold: a new sandbox with the task's workspace mounted, so the
 * agent edits it in place. Warm: a ready sandbox from the warm pool, whose empty slot dir receives
 * a copy of the workspace; the agent's work is synced back when the task ends. Either way a
 * sandbox serves exactly one task and is removed after it.
 */
import { realpath } from "node:fs/promises";
import { cacheIdentity, cacheVolumes } from "../sandbox/cache-volumes.js";
import type { SandboxSpec } from "../sandbox/spec.js";
import { startSandbox, type StartedSandbox } from "../sandbox/start.js";
import type { TaskPlan } from "./task-plan.js";
import { specFor, taskSandboxId } from "./task-sandbox-spec.js";
import type { SyncBack } from "./sync-back.js";
import type { WarmPool } from "./warm-pool.js";
import { finishCopyMode } from "./copy-mode-sandbox.js";

/** What makes two sandboxes interchangeable for the warm pool: decided by the planner. */
export { profileWarnings } from "../plan/plan.js";

export interface TaskSandbox {
  sandbox: StartedSandbox;
  warm: boolean;
  /** Bring the work back (warm), remove the sandbox; says what happened, throws only for a cold stop. */
  finish(): Promise<SyncBack>;
  /** The agent made its first model request (a warm pool's held refill may begin). */
  agentStarted?: () => void;
}

/**
 * Whether a task of this profile can take a sandbox from the pool. E11: warm sandboxes start before
 * the workspace is known, on a copy; a task with performance volumes mounts its project's volumes
 * over its own workspace, so it always starts cold. Copy mode starts cold too: the warm pool's
 * slot dirs are host dirs the engine would mount.
 */
export function warmCanServe(pool: WarmPool, profile: TaskPlan["profile"]): boolean {
  return !profile.cacheVolumes?.paths.length && !profile.workspaceCopy && pool.matches(profile);
}

export async function acquireSandbox(
  plan: Pick<TaskPlan, "engine" | "profile">,
  workspace: string,
  taskId: string,
  options: {
    signal?: AbortSignal;
    warmPool?: WarmPool | undefined;
    onLine?: (line: string) => void;
    /** The plan for a cold start when the warm pool has none to give (planned without the probe). */
    coldPlan?: (() => Promise<Pick<TaskPlan, "engine" | "profile">>) | undefined;
  },
): Promise<TaskSandbox> {
  if (options.warmPool && warmCanServe(options.warmPool, plan.profile)) {
    const taken = await options.warmPool.take(workspace, options.signal);
    if (taken)
      return { sandbox: taken.sandbox, warm: true, finish: taken.finish, agentStarted: taken.agentStarted };
    // None left after all: the cold start needs the engine's view of the workspace (the probe).
    if (options.coldPlan) plan = await options.coldPlan();
  }
  const cache = plan.profile.cacheVolumes;
  const real = cache?.paths.length ? await realpath(workspace) : workspace;
  const spec: SandboxSpec = {
    ...specFor(plan.profile, real, taskSandboxId(taskId)),
    ...(cache?.paths.length
      ? { cacheVolumes: cacheVolumes(cacheIdentity(real, cache.project), cache.paths) }
      : {}),
  };
  const sandbox = await startSandbox(plan.engine, spec, {
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.onLine ? { onLog: (l: string) => options.onLine?.(l) } : {}),
  });
  if (spec.workspaceCopy)
    return {
      sandbox,
      warm: false,
      finish: () => finishCopyMode(plan.engine, sandbox, plan.profile.copyBack, options.onLine),
    };
  return {
    sandbox,
    warm: false,
    finish: async () => {
      await sandbox.stop();
      return { kind: "in-place" };
    },
  };
}
