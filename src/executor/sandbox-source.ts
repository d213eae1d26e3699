/**
 * Where a task's sandbox comes from. Cold: a new sandbox with the task's workspace mounted, so the
 * agent edits it in place. Warm: a ready sandbox from the warm pool, whose empty slot dir receives
 * a copy of the workspace; the agent's work is synced back when the task ends. Either way a
 * sandbox serves exactly one task and is removed after it.
 */
import { createHash } from "node:crypto";
import { realpath } from "node:fs/promises";
import { hostname } from "node:os";
import { AGENT_UID } from "../image/dockerfile.js";
import { DEFAULT_HARDENING } from "../sandbox/hardening.js";
import { cacheIdentity, cacheVolumes } from "../sandbox/cache-volumes.js";
import { sandboxSpec, type SandboxProfile } from "../plan/sandbox-profile.js";
import { agentUserFor, currentHostUser, type SandboxSpec } from "../sandbox/spec.js";
import { newRunId, startSandbox, type StartedSandbox } from "../sandbox/start.js";
import type { TaskPlan } from "./run-task.js";
import type { SyncBack } from "./sync-back.js";
import type { WarmPool } from "./warm-pool.js";

/** What makes two sandboxes interchangeable for the warm pool: decided by the planner. */
export type { SandboxProfile } from "../plan/sandbox-profile.js";
export { profileWarnings } from "../plan/plan.js";

export function profileKey(p: SandboxProfile): string {
  return createHash("sha256")
    .update(
      JSON.stringify([
        p.images,
        p.opencodeConfig,
        p.forwardPorts,
        p.env,
        p.limits,
        p.egress ?? null,
        p.server ?? null,
        // Absent and the default are the same sandbox.
        p.hardening ?? DEFAULT_HARDENING,
        p.hostDockerSocket === true,
        p.cacheVolumes ?? null,
        p.aptAllow ?? [],
        p.copyBack ?? null,
      ]),
    )
    .digest("hex")
    .slice(0, 16);
}

/** E8: `<owner hash>-<task id>`, so names read `ocbox-<owner hash>-<task id>-<rand>-agent`. */
export function taskSandboxId(taskId: string): string {
  const owner = createHash("sha256")
    .update(`${hostname()}:${process.getuid?.() ?? ""}`)
    .digest("hex")
    .slice(0, 6);
  const id =
    taskId
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, "-")
      .replace(/^-+|-+$/g, "")
      .slice(0, 40) || "task";
  return `${owner}-${id}`;
}

/** The planner's spec for one task sandbox of a profile, placed here and now. */
export function specFor(profile: SandboxProfile, workspace: string, sandboxId: string): SandboxSpec {
  const host = currentHostUser();
  return sandboxSpec(profile, {
    workspace,
    sandboxId,
    runId: newRunId(),
    hostUser: host,
    agentUser: agentUserFor(host, AGENT_UID),
  });
}

export interface TaskSandbox {
  sandbox: StartedSandbox;
  warm: boolean;
  /** Bring the work back (warm), remove the sandbox; says what happened, throws only for a cold stop. */
  finish(): Promise<SyncBack>;
}

export async function acquireSandbox(
  plan: Pick<TaskPlan, "engine" | "profile">,
  workspace: string,
  taskId: string,
  options: { signal?: AbortSignal; warmPool?: WarmPool | undefined; onLine?: (line: string) => void },
): Promise<TaskSandbox> {
  // E11: warm sandboxes start before the workspace is known, on a copy; a task with performance
  // volumes mounts its project's volumes over its own workspace, so it always starts cold.
  const cache = plan.profile.cacheVolumes;
  if (!cache?.paths.length && options.warmPool?.matches(plan.profile)) {
    const taken = await options.warmPool.take(workspace, options.signal);
    if (taken) return { sandbox: taken.sandbox, warm: true, finish: taken.finish };
  }
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
  return {
    sandbox,
    warm: false,
    finish: async () => {
      await sandbox.stop();
      return { kind: "in-place" };
    },
  };
}
