/** `ocbox exec`: a command inside the project's running sandbox, as the agent's user, within its limits. */
import type { Engine, ExecResult } from "../runtime/engine.js";
import { requireRunning } from "./web.js";

export async function execInProject(engine: Engine, sandboxId: string, argv: string[]): Promise<ExecResult> {
  const row = await requireRunning(engine, sandboxId);
  // The exec joins the agent container's cgroup (its limits) and runs as its configured user.
  return engine.exec(row.agentId, argv);
}
