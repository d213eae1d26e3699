/**
 * The one planner (ARCHITECTURE "plan/"): the project config, the workflow, the workspace's own
 * opencode.json(c), the host environment, the caller's options and the entry point's facts →
 * plain data: the sandbox (a profile every entry point shares, and for `up` its full spec), the
 * task's decisions, the env resolution (names only) and the warnings. `ocbox up`, `ocbox run`,
 * `eval run`, `eval judge`, the bridge and the service all call it. Pure: no I/O, no process
 * env, no clock, no randomness; the caller reads files and passes what it read.
 */
import { DEFAULT_COPY_EXCLUDES } from "../config/workspace-schema.js";
import { decideWorkspaceMode, type WorkspaceModeInput } from "./workspace-mode.js";
import type { ProjectConfig } from "../config/project-schema.js";
import { resolveCopyBackCaps, resolveLimits } from "./limits.js";
import { egressSpecFromConfig, gatewayPorts } from "../egress/config.js";
import { hardeningFromConfig } from "../sandbox/hardening.js";
import type { Ids } from "../sandbox/ownership.js";
import { securityLines, securityProfile } from "../sandbox/profile.js";
import { DEFAULT_LIMITS, type SandboxSpec } from "../sandbox/spec.js";
import { NOT_CHECKED, type ApprovalState } from "./approval-state.js";
import type { EntryPoint } from "./entry-point.js";
import { planEnv, type EnvPlan } from "./env-plan.js";
import { egressGaps, egressGapWarnings, type EgressGap, type ProviderCatalogue } from "./egress-gaps.js";
import { planForwardPorts } from "./forward-ports.js";
import { knownModels } from "./known-models.js";
import { taskModelProviders } from "./model-providers.js";
import { parseModelRef, type ModelRef } from "./model-ref.js";
import { permissionEnv, permissionPolicy, type PermissionPolicy } from "./permission-policy.js";
import {
  authProvidersFor,
  projectSandboxSpec,
  upWorkspaceTarget,
  UP_READY_TIMEOUT_MS,
  type UpFacts,
} from "./project-placement.js";
import { generatedOpencodeConfig } from "./provider-config.js";
import { sandboxSpec, type SandboxProfile } from "./sandbox-profile.js";
import { planTaskDecisions, type TaskDecisions, type TaskOptions } from "./task-decisions.js";
import { DEFAULT_TIMEOUTS } from "./timeouts.js";
import { checkVolumes } from "./volumes.js";

/** What the caller asks for beyond the configs (flags, library options). */
export interface CallerOptions extends TaskOptions {
  /** Extra OpenCode config for the sandbox (providers, permissions). */
  opencodeConfig?: Record<string, unknown> | undefined;
  /** Extra host loopback ports to forward. */
  forwardPorts?: number[] | undefined;
  /** Extra environment for the agent container (after the env rules). */
  env?: Record<string, string> | undefined;
  /** E11 volumes; default ocbox.yaml's `volumes`. */
  volumes?: string[] | undefined;
  /** C8; default ocbox.yaml's `unsafe.hostDockerSocket`. */
  hostDockerSocket?: boolean | undefined;
  /** `--copy`: copy the workspace in and sync it back, whatever the engine sees (issue 14). */
  copy?: boolean | undefined;
  /** `--autonomous` (up); also the config key `autonomous`. */
  autonomous?: boolean | undefined;
  server?: SandboxSpec["server"] | undefined;
  /** up: the ready wait, ms. */
  readyTimeoutMs?: number | undefined;
}

export interface PlanInput {
  entry: EntryPoint;
  config: ProjectConfig;
  /** The project the workspace belongs to (its root and sandbox id), if any. */
  /**
   * The project: its root, sandbox id and, for `up`, its name (default: the id less its hash) and
   * config file (for errors).
   */
  project?: { root: string; sandboxId: string; name?: string; configFile?: string } | undefined;
  /** The workflow (roles, pools, executor); default `config`. */
  workflow?: ProjectConfig | undefined;
  /** The workspace's opencode.json(c): its file name and parsed content. */
  workspaceOpencode?: { file: string; config: Record<string, unknown> } | undefined;
  /** The host environment (for `up`, after the pre-start hook). */
  hostEnv: Readonly<Record<string, string | undefined>>;
  options: CallerOptions;
  images: { sandbox: string; egress: string };
  users: { host: Ids; agent: Ids };
  /** The text of the role's systemPromptFile, read by the caller (undefined: no such file). */
  rolePrompt?: string | undefined;
  approval?: ApprovalState | undefined;
  /** `up` only: its state, password, port, lifetime, auth file, sandbox placement. */
  up?: (UpFacts & { runId: string }) | undefined;
  /** What the engine probe found for the workspace (absent: not probed; a forced mode needs none). */
  workspaceProbe?: (WorkspaceModeInput["probe"] & { endpoint: string }) | undefined;
  /**
   * The pinned OpenCode's provider catalogue (opencode/provider-catalogue.ts) and the provider ids
   * in the host's auth.json: with them, the plan warns about model API hosts egress would deny.
   */
  providers?:
    | {
        catalogue: ProviderCatalogue;
        authProviders: readonly string[];
        model?: ModelRef | undefined;
        /** Other models a task calls (its structurer's): their providers go into its models file. */
        alsoModels?: ReadonlyArray<ModelRef | undefined>;
      }
    | undefined;
}

export interface SandboxPlan {
  entry: EntryPoint;
  approval: ApprovalState;
  permission: PermissionPolicy;
  profile: SandboxProfile;
  env: EnvPlan;
  /** The OpenCode config files the sandbox sees, in load order. */
  opencodeConfigs: { generated: Record<string, unknown>; workspace?: Record<string, unknown> };
  /** `up`: the whole spec (task entry points place their profile per task). */
  spec?: SandboxSpec;
  /** WARNING lines (unsafe opt-ins, weakened hardening), as the startup summary prints them. */
  warnings: string[];
  /** Model API hosts the proxy would deny (with `providers` in the input), and their WARNING lines. */
  egressGaps: { gaps: EgressGap[]; warnings: string[] };
}

export interface Plan extends SandboxPlan {
  /** The task part; absent for `up`. */
  task?: TaskDecisions;
}

/** The profile's WARNING lines, as the startup summary prints them. */
export function profileWarnings(profile: SandboxProfile): string[] {
  const spec = sandboxSpec(profile, {
    workspace: "/workspace",
    sandboxId: "warnings",
    runId: "warnings",
    hostUser: { uid: 1000, gid: 1000 },
    agentUser: { uid: 1000, gid: 1000 },
  });
  return securityLines(securityProfile(spec))
    .filter((l) => l.trimStart().startsWith("WARNING"))
    .map((l) => l.trim().replace(/^WARNING\s+/, "WARNING "));
}

function generatedFor(input: Pick<PlanInput, "config" | "options">, permission: PermissionPolicy) {
  return generatedOpencodeConfig({
    model: input.config.model,
    permission,
    caller: input.options.opencodeConfig,
  });
}

function profileFor(input: PlanInput, permission: PermissionPolicy) {
  const { config, options } = input;
  const generated = generatedFor(input, permission);
  const workspace = input.workspaceOpencode?.config;
  const egress = egressSpecFromConfig(config.egress, input.hostEnv, input.up?.state.egressLog);
  const viaGateway = gatewayPorts(egress);
  const env = planEnv({
    env: config.env,
    generatedMap: generated.envMap,
    hostEnv: input.hostEnv,
    caller: options.env,
    egress,
    planner: permissionEnv(permission, workspace, options.opencodeConfig),
  });
  const volumes = checkVolumes(options.volumes ?? config.volumes ?? []);
  const readyS = options.timeouts?.readyS ?? DEFAULT_TIMEOUTS.readyS;
  const profile: SandboxProfile = {
    images: input.images,
    opencodeConfig: generated.opencode,
    forwardPorts: planForwardPorts({
      hostPorts: config.egress.hostPorts,
      configs: [generated.opencode, workspace],
      caller: options.forwardPorts,
      gatewayPorts: viaGateway,
    }),
    env: env.resolution.env,
    limits: resolveLimits(config.limits, DEFAULT_LIMITS),
    copyBack: resolveCopyBackCaps(config.limits.copyBack),
    readyTimeoutMs: input.up ? (options.readyTimeoutMs ?? UP_READY_TIMEOUT_MS) : readyS * 1000,
    egress,
    hardening: hardeningFromConfig(config.hardening),
    ...((options.hostDockerSocket ?? config.unsafe?.hostDockerSocket) ? { hostDockerSocket: true } : {}),
    ...(volumes.length
      ? {
          cacheVolumes: {
            paths: volumes,
            ...(input.project
              ? { project: { root: input.project.root, sandboxId: input.project.sandboxId } }
              : {}),
          },
        }
      : {}),
    ...(config.apt.allow.length ? { aptAllow: [...config.apt.allow] } : {}),
    ...(options.server ? { server: options.server } : {}),
    ...workspaceModePart(input),
  };
  return { profile, env, generated: generated.opencode, viaGateway };
}

/** Bind or copy (plan/workspace-mode.ts), as the profile's keys. */
function workspaceModePart(input: PlanInput): Pick<SandboxProfile, "workspaceCopy" | "workspaceMode"> {
  const probe = input.workspaceProbe;
  const decided = decideWorkspaceMode({
    forceCopy: input.options.copy,
    configured: input.config.workspace.mode,
    ...(probe ? { probe } : {}),
    endpoint: probe?.endpoint ?? "",
  });
  if (decided.mode === "bind") return { workspaceMode: decided.why };
  const exclude = [...(input.config.workspace.exclude ?? DEFAULT_COPY_EXCLUDES)];
  // `ocbox up`: the volume is the agent's work until `ocbox sync` or `down` brought it back.
  const keep = input.entry === "up" ? { keep: true } : {};
  return { workspaceMode: decided.why, workspaceCopy: { exclude, ...keep } };
}

function policyOf(input: Pick<PlanInput, "entry" | "config" | "options">): PermissionPolicy {
  const autonomous = input.options.autonomous ?? input.config.autonomous ?? false;
  return permissionPolicy(input.entry, autonomous, input.options.permissions);
}

function sandboxBase(input: PlanInput) {
  const permission = policyOf(input);
  const planned = profileFor(input, permission);
  const { env, generated, viaGateway } = planned;
  const workspace = input.workspaceOpencode?.config;
  // Every variable the agent gets, the caller's included: a key among them connects its provider.
  const agentEnv = Object.keys(env.resolution.env).sort();
  const modelProviders = taskProviders(input, [generated, workspace], agentEnv);
  const profile = modelProviders ? { ...planned.profile, modelProviders } : planned.profile;
  const base: SandboxPlan = {
    entry: input.entry,
    approval: input.approval ?? NOT_CHECKED,
    permission,
    profile,
    env,
    opencodeConfigs: { generated, ...(workspace ? { workspace } : {}) },
    warnings: profileWarnings(profile),
    egressGaps: gapsFor(input, [generated, workspace], agentEnv, profile.egress),
  };
  return { base, generated, viaGateway };
}

/** A task's providers (plan/model-providers.ts); none for `up`, or without the catalogue. */
function taskProviders(
  input: PlanInput,
  configs: Array<Record<string, unknown> | undefined>,
  passedEnv: readonly string[],
): string[] | undefined {
  if (input.entry === "up" || !input.providers) return undefined;
  return taskModelProviders(
    {
      configs,
      model: taskModel(input),
      authProviders: input.providers.authProviders,
      passedEnv,
      catalogue: input.providers.catalogue,
    },
    input.providers.alsoModels,
  );
}

const taskModel = (input: PlanInput): ModelRef | undefined =>
  input.providers?.model ?? (input.options.model ? parseModelRef(input.options.model) : undefined);

function gapsFor(
  input: PlanInput,
  configs: Array<Record<string, unknown> | undefined>,
  passedEnv: readonly string[],
  egress: SandboxProfile["egress"],
): SandboxPlan["egressGaps"] {
  if (!input.providers) return { gaps: [], warnings: [] };
  const gaps = egressGaps({
    configs,
    model: taskModel(input),
    authProviders: input.providers.authProviders,
    passedEnv,
    catalogue: input.providers.catalogue,
    egress: egress ?? { allow: [] },
  });
  return { gaps, warnings: egressGapWarnings(gaps, input.project?.configFile) };
}

export type UpPlanInput = PlanInput & {
  entry: "up";
  up: NonNullable<PlanInput["up"]>;
  project: NonNullable<PlanInput["project"]>;
};

/** `ocbox up`: the sandbox part and the whole spec of the project's sandbox. */
export function planUp(input: UpPlanInput): SandboxPlan & { spec: SandboxSpec } {
  const { base, generated, viaGateway } = sandboxBase(input);
  const workspace = input.workspaceOpencode?.config;
  const spec = projectSandboxSpec(
    base.profile,
    {
      workspace: input.project.root,
      sandboxId: input.project.sandboxId,
      runId: input.up.runId,
      hostUser: input.users.host,
      agentUser: input.users.agent,
    },
    input.up,
    {
      opencodeFile: input.workspaceOpencode?.file,
      opencodeConfig: workspace,
      authProviders: authProvidersFor([generated, workspace], viaGateway),
      workspaceTarget: upWorkspaceTarget(
        input.project.name ?? input.project.sandboxId.replace(/-[0-9a-f]{8}$/, ""),
        input.project.configFile ?? "ocbox.yaml",
      ),
    },
  );
  return { ...base, spec };
}

const isUpInput = (input: PlanInput): input is UpPlanInput =>
  input.entry === "up" && input.up !== undefined && input.project !== undefined;

/** The sandbox part of the plan: the same decisions for every entry point. */
export function planSandbox(input: PlanInput): SandboxPlan {
  return isUpInput(input) ? planUp(input) : sandboxBase(input).base;
}

/** The task part alone (checked before images are built or any sandbox starts). */
export function planTaskPart(input: Omit<PlanInput, "images" | "users">): TaskDecisions {
  const generated = generatedFor(input, policyOf(input)).opencode;
  const workspace = input.workspaceOpencode?.config;
  return planTaskDecisions({
    workflow: input.workflow ?? input.config,
    options: input.options,
    known: knownModels(generated, workspace),
    configs: [generated, workspace],
    rolePrompt: input.rolePrompt,
  });
}

/** The whole plan for an entry point. */
export function plan(input: PlanInput): Plan {
  const sandbox = planSandbox(input);
  return input.entry === "up" ? sandbox : { ...sandbox, task: planTaskPart(input) };
}
