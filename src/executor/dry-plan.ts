/**
 * The plan a task would get, without touching the engine (`ocbox plan`, `ocbox run --dry-run`):
 * the same files read and the same planner as planTask, with image tags left to the start.
 */
import { AGENT_UID } from "../image/dockerfile.js";
import { plan, type Plan } from "../plan/plan.js";
import { IMAGES_AT_START } from "../plan/plan-view.js";
import { agentUserFor, currentHostUser } from "../sandbox/spec.js";
import { readPlanInput, type RunTaskOptions } from "./prepare.js";

export async function dryPlanTask(options: RunTaskOptions): Promise<Plan> {
  const input = await readPlanInput(options);
  const host = currentHostUser();
  return plan({ ...input, images: IMAGES_AT_START, users: { host, agent: agentUserFor(host, AGENT_UID) } });
}
