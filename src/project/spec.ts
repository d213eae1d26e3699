/**
 * `ocbox up`'s sandbox: the planner's (plan/) spec for the `up` entry point. Pure: every input
 * (host env after the hook, images, state paths, the project's own opencode.json) arrives as data.
 */
import { join } from "node:path";
import type { EnvResolution } from "../config/env-rules.js";
import type { LoadedProject } from "../config/load.js";
import type { ApprovalState } from "../plan/approval-state.js";
import { planUp, type SandboxPlan, type UpPlanInput } from "../plan/plan.js";
import type { Ids } from "../sandbox/ownership.js";
import type { SandboxSpec } from "../sandbox/spec.js";
import { loopbackPort } from "../util/loopback.js";
import type { StateLayout } from "../util/state-layout.js";

export interface ProjectSpecInput {
  project: LoadedProject;
  hostEnv: Readonly<Record<string, string | undefined>>;
  images: { sandbox: string; egress: string };
  state: StateLayout;
  password: string;
  agentUser: Ids;
  hostUser: Ids;
  runId: string;
  /** `--port`, over the config's ports.server. */
  port?: number;
  lifetime: "session" | "detached";
  /** The host's OpenCode auth.json (copied per container). */
  authFile: string;
  /** The project's opencode.json(c), if any: its file name and content. */
  opencodeJson?: { file: string; config: Record<string, unknown> };
  readyTimeoutMs?: number;
  /** `--autonomous` (the config key `autonomous` counts too). */
  autonomous?: boolean;
  approval?: ApprovalState;
  /** The pinned OpenCode's providers and the auth.json ids: the plan warns about denied model hosts. */
  providers?: UpPlanInput["providers"];
  /** `--copy`: copy the workspace into a volume whatever the engine sees (issue 14). */
  copy?: boolean;
  /** What the engine probe found for the project root (absent: a mode was forced, or no probe). */
  workspaceProbe?: UpPlanInput["workspaceProbe"];
}

export interface ProjectSpec {
  spec: SandboxSpec;
  env: EnvResolution;
  plan: SandboxPlan;
}

export { loopbackPort };
export { providerBaseURLs } from "../plan/provider-config.js";

/** The planner's input for `ocbox up`. */
export function upPlanInput(input: ProjectSpecInput): UpPlanInput {
  const { config } = input.project;
  return {
    entry: "up",
    config,
    project: {
      root: input.project.root,
      sandboxId: input.project.sandboxId,
      name: input.project.name,
      configFile: input.project.file,
    },
    workspaceOpencode: input.opencodeJson,
    hostEnv: input.hostEnv,
    options: {
      ...(input.autonomous ? { autonomous: true } : {}),
      ...(input.readyTimeoutMs !== undefined ? { readyTimeoutMs: input.readyTimeoutMs } : {}),
      ...(input.copy ? { copy: true } : {}),
    },
    ...(input.workspaceProbe ? { workspaceProbe: input.workspaceProbe } : {}),
    images: input.images,
    users: { host: input.hostUser, agent: input.agentUser },
    ...(input.approval ? { approval: input.approval } : {}),
    ...(input.providers ? { providers: input.providers } : {}),
    up: {
      state: input.state,
      password: input.password,
      hostPort: input.port ?? config.ports.server ?? 0,
      lifetime: input.lifetime,
      authFile: input.authFile,
      runId: input.runId,
    },
  };
}

export function projectSpec(input: ProjectSpecInput): ProjectSpec {
  const plan = planUp(upPlanInput(input));
  return { spec: plan.spec, env: plan.env.resolution, plan };
}

/** The host's OpenCode auth.json: `$XDG_DATA_HOME/opencode/auth.json`, default ~/.local/share. */
export function hostAuthFile(env: NodeJS.ProcessEnv, home: string): string {
  return join(env.XDG_DATA_HOME || join(home, ".local", "share"), "opencode", "auth.json");
}
