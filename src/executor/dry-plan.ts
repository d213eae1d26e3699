/**
 * The plan a task would get, without touching the engine (`ocbox plan`, `ocbox run --dry-run`):
 * the same files read and the same planner as planTask, the same provider catalogue (so the same
 * models file and egress gap warnings), with image tags left to the start.
 */
import { AGENT_UID } from "../image/dockerfile.js";
import { findAnyOpencodeBinary } from "../image/opencode-binary.js";
import { readProviderCatalogue } from "../opencode/provider-catalogue.js";
import { plan, planTaskPart, type Plan } from "../plan/plan.js";
import { IMAGES_AT_START } from "../plan/plan-view.js";
import { agentUserFor, currentHostUser } from "../sandbox/spec.js";
import { readPlanInput, type RunTaskOptions } from "./prepare.js";

export async function dryPlanTask(options: RunTaskOptions): Promise<Plan> {
  const input = await readPlanInput(options);
  // Bad names fail here as in a run, before the catalogue is read.
  const task = planTaskPart(input);
  const catalogue = await readProviderCatalogue(findAnyOpencodeBinary(), process.env);
  const host = currentHostUser();
  return plan({
    ...input,
    images: IMAGES_AT_START,
    users: { host, agent: agentUserFor(host, AGENT_UID) },
    // As planTask: no auth.json goes into a task sandbox.
    providers: { catalogue, authProviders: [], model: task.model, alsoModels: [task.structurer.model] },
  });
}
