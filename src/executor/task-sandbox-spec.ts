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
        p.taskImage ?? null,
        p.modelProviders ?? null,
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
