/**
 * A task whose sandbox ended under it (SECURITY.md, the gVisor tier): the agent container is gone
 * or stopped while the prompt ran. Under runc the engine's OOM killer ends only the allocating
 * process; under gVisor it ends the sentry, so the whole sandbox, and a fork bomb there can fill
 * the host-side PID backstop. The task ends as INFRASTRUCTURE / SANDBOX with what happened, not
 * as an exception. Pure.
 */
import type { ContainerState } from "../runtime/engine.js";
import { fail, type Ended } from "./task-run.js";

/** The end of a task whose agent container is in `state` (undefined: removed); undefined while it runs. */
export function sandboxEnded(
  state: ContainerState | undefined,
  limits: { memoryBytes: number; pids: number },
  runtime: string | undefined,
): Ended | undefined {
  if (state?.running) return undefined;
  const under = runtime === undefined ? "" : ` under ${runtime}`;
  const mib = Math.round(limits.memoryBytes / 1024 ** 2);
  const why =
    state === undefined
      ? "its container is gone"
      : state.oomKilled
        ? `the engine's OOM killer ended it at the memory limit (${mib} MiB)`
        : `it exited with code ${state.exitCode ?? "unknown"}`;
  const gvisor =
    runtime === undefined
      ? ""
      : " Under gVisor one process past the memory limit, or a fork bomb that fills the host-side PID backstop, ends the whole sandbox.";
  return fail({
    reason: "INFRASTRUCTURE",
    kind: "SANDBOX",
    hint: `The agent's sandbox${under} ended during the task: ${why}.${gvisor} Raise limits.memory or limits.pids (${limits.pids}) if the task needs more; the sandbox was removed.`,
  });
}
