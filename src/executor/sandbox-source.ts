/**
 * Where a task's sandbox comes from. Cold: a new sandbox with the task's workspace mounted, so the
 * agent edits it in place. Warm: a ready sandbox from the warm pool, whose empty slot dir receives
 * a copy of the workspace; the agent's work is synced back when the task ends. Either way a
 * sandbox serves exactly one task and is removed after it.
 */
import { createHash } from "node:crypto";
import { hostname } from "node:os";
import { AGENT_UID } from "../image/dockerfile.js";
import { DEFAULT_LIMITS, agentUserFor, currentHostUser, type SandboxSpec } from "../sandbox/spec.js";
import { newRunId, startSandbox, type StartedSandbox } from "../sandbox/start.js";
import type { TaskPlan } from "./run-task.js";
import type { WarmPool } from "./warm-pool.js";

/** What makes two sandboxes interchangeable for the warm pool. */
export interface SandboxProfile {
  images: { sandbox: string; egress: string };
  opencodeConfig: Record<string, unknown>;
  forwardPorts: number[];
  env: Record<string, string>;
  limits: SandboxSpec["limits"];
  readyTimeoutMs: number;
  /** The project's egress keys (allowlist, restricted mode, model gateways); absent: nothing out. */
  egress?: SandboxSpec["egress"];
  /** The server's log level and log printing; absent: INFO, printed. */
  server?: SandboxSpec["server"];
}

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

export function specFor(profile: SandboxProfile, workspace: string, sandboxId: string): SandboxSpec {
  const host = currentHostUser();
  return {
    sandboxId,
    runId: newRunId(),
    workspace,
    images: profile.images,
    agentUser: agentUserFor(host, AGENT_UID),
    hostUser: host,
    forwardPorts: profile.forwardPorts,
    hostPort: 0,
    env: profile.env,
    opencodeConfig: profile.opencodeConfig,
    limits: profile.limits ?? DEFAULT_LIMITS,
    server: profile.server ?? { logLevel: "INFO", printLogs: true },
    lifetime: "session",
    readyTimeoutMs: profile.readyTimeoutMs,
    ...(profile.egress ? { egress: profile.egress } : {}),
  };
}

export interface TaskSandbox {
  sandbox: StartedSandbox;
  warm: boolean;
  /** Bring the work back (warm), remove the sandbox. */
  finish(): Promise<void>;
}

export async function acquireSandbox(
  plan: Pick<TaskPlan, "engine" | "profile">,
  workspace: string,
  taskId: string,
  options: { signal?: AbortSignal; warmPool?: WarmPool | undefined; onLine?: (line: string) => void },
): Promise<TaskSandbox> {
  if (options.warmPool?.matches(plan.profile)) {
    const taken = await options.warmPool.take(workspace, options.signal);
    if (taken) return { sandbox: taken.sandbox, warm: true, finish: taken.finish };
  }
  const sandbox = await startSandbox(plan.engine, specFor(plan.profile, workspace, taskSandboxId(taskId)), {
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.onLine ? { onLog: (l: string) => options.onLine?.(l) } : {}),
  });
  return { sandbox, warm: false, finish: () => sandbox.stop() };
}
