/**
 * The plan `ocbox up` would make, without starting anything (`ocbox plan --entry up`,
 * `ocbox up --dry-run`): no engine, no hook run, no state written. The pre-start hook's
 * variables are not in it (the hook is host code; a plan does not run it), the password is the
 * state dir's and shown only as redacted, and the images are resolved at start.
 */
import { homedir } from "node:os";
import { AGENT_UID } from "../image/dockerfile.js";
import type { Plan } from "../plan/plan.js";
import { IMAGES_AT_START } from "../plan/plan-view.js";
import { agentUserFor, currentHostUser } from "../sandbox/spec.js";
import { checkApproval, readProjectFiles } from "../executor/approval-check.js";
import { hostAuthFile, projectSpec } from "./spec.js";
import { openProject } from "./up.js";

export async function dryPlanUp(options: {
  cwd: string;
  env?: NodeJS.ProcessEnv;
  port?: number;
  autonomous?: boolean;
  detach?: boolean;
}): Promise<Plan> {
  const env = options.env ?? process.env;
  const { project, state } = await openProject(options.cwd, env);
  const files = await readProjectFiles(project, undefined, env);
  const opencodeJson = files.opencodeJson;
  // What `ocbox up` would ask about (or refuse without a terminal): shown, never recorded.
  const approval = await checkApproval(
    "up",
    { ...files.scope, recordFile: state.approved },
    files.read,
    "interactive",
  );
  const host = currentHostUser();
  return projectSpec({
    project,
    hostEnv: env,
    images: IMAGES_AT_START,
    state,
    password: "(in the state dir)",
    agentUser: agentUserFor(host, AGENT_UID),
    hostUser: host,
    runId: "(new at start)",
    ...(options.port !== undefined ? { port: options.port } : {}),
    lifetime: options.detach ? "detached" : "session",
    authFile: hostAuthFile(env, homedir()),
    ...(opencodeJson ? { opencodeJson } : {}),
    ...(options.autonomous ? { autonomous: true } : {}),
    approval,
  }).plan;
}
