/**
 * The spec of one task sandbox: the planner's profile placed here and now (a run id, the host's
 * user, the E8 sandbox id), and the key that says when two profiles make interchangeable sandboxes.
 */
import { createHash } from "node:crypto";
import { hostname } from "node:os";
import { AGENT_UID } from "../image/dockerfile.js";
import { sandboxSpec, type SandboxProfile } from "../plan/sandbox-profile.js";
import { DEFAULT_HARDENING } from "../sandbox/hardening.js";
import { agentUserFor, currentHostUser, type SandboxSpec } from "../sandbox/spec.js";
import { newRunId } from "../sandbox/start.js";

/** The key of two interchangeable sandboxes: the same profile, the same models file. */
export function profileKey(p: SandboxProfile): string {
  return hash([sandboxKey(p), p.modelProviders ?? null]);
}

/**
 * A sandbox of profile `pool` can run a task planned as `task`: the same sandbox in every other
 * way, and a models file that holds every provider the task may call (a pool without one holds the
 * whole catalogue). A sandbox whose file has more providers than the task's offers their models
 * only; their keys are what connects them, and those are the same variables for both.
 */
export function canServe(pool: SandboxProfile, task: SandboxProfile): boolean {
  if (sandboxKey(pool) !== sandboxKey(task)) return false;
  if (!pool.modelProviders) return true;
  if (!task.modelProviders) return false;
  const held = new Set(pool.modelProviders);
  return task.modelProviders.every((p) => held.has(p));
}

/** The profile with more providers in its models file (none: unchanged). */
export function withModelProviders(p: SandboxProfile, more: readonly string[]): SandboxProfile {
  if (!p.modelProviders || more.length === 0) return p;
  return { ...p, modelProviders: [...new Set([...p.modelProviders, ...more])].sort() };
}

const hash = (value: unknown) =>
  createHash("sha256").update(JSON.stringify(value)).digest("hex").slice(0, 16);

/** Everything but the models file's providers. */
function sandboxKey(p: SandboxProfile): string {
  return hash([
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
    p.taskImage ?? null,
  ]);
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
