/** `ocbox exec`: a command inside the project's running sandbox, as the agent's user, within its limits. */
import type { AttachedExec, Engine, ExecResult, ExecStreams } from "../runtime/engine.js";
import { requireRunning } from "./web.js";

export async function execInProject(engine: Engine, sandboxId: string, argv: string[]): Promise<ExecResult> {
  const row = await requireRunning(engine, sandboxId);
  // The exec joins the agent container's cgroup (its limits) and runs as its configured user.
  return engine.exec(row.agentId, argv);
}

/** `ocbox exec` with its streams attached: stdin forwarded, output streamed, a TTY on request. */
export async function execAttachedInProject(
  engine: Engine,
  sandboxId: string,
  argv: string[],
  streams: ExecStreams,
): Promise<AttachedExec> {
  const row = await requireRunning(engine, sandboxId);
  return engine.execAttached(row.agentId, argv, streams);
}
