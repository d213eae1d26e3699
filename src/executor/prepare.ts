/**
 * The library call `runTask(options)`: read what the planner needs from the same places `ocbox up`
 * uses (the workspace's ocbox.yaml and opencode.json, a workflow file, the role's prompt file),
 * let the one planner (plan/) decide model, role, contract, pools, timeouts and the sandbox
 * profile and check them before any sandbox starts, then ensure images, reap, and run the task.
 * This file is the I/O glue only; every decision is plan/'s.
 */
import { readFile, realpath } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { findProjectRoot, loadProjectConfig, type ReadProject } from "../config/load.js";
import type { PermissionPolicy } from "./permission-policy.js";
import { readWorkspaceOpencodeConfig } from "../config/opencode-json.js";
import { parseProjectConfig } from "../config/parse.js";
import { DEFAULT_HOOK_PATH, defaultProjectConfig, type ProjectConfig } from "../config/project-schema.js";
import { OcboxError, errorMessage } from "../errors.js";
import { ensureImages, type ImageSet } from "../image/build.js";
import { AGENT_UID } from "../image/dockerfile.js";
import { findAnyOpencodeBinary } from "../image/opencode-binary.js";
import { readProviderCatalogue } from "../opencode/provider-catalogue.js";
import { obeyApproval, type ApprovalState } from "../plan/approval-state.js";
import type { EntryPoint } from "../plan/entry-point.js";
import {
  addConfig,
  addOpencode,
  addTaskFile,
  checkApproval,
  emptyRead,
  folderScope,
  projectScope,
  recordDecided,
  type ApprovalScope,
  type ReadFiles,
} from "./approval-check.js";
import { planSandbox, planTaskPart, type CallerOptions, type PlanInput } from "../plan/plan.js";
import type { TaskDecisions } from "../plan/task-decisions.js";
import { needsProbe } from "../plan/workspace-mode.js";
import { engineSeesPath, type ProbeAnswer } from "../sandbox/path-probe.js";
import { DockerEngine } from "../runtime/docker-engine.js";
import type { Engine } from "../runtime/engine.js";
import { hostExecutedEdits } from "../sandbox/host-executed-edits.js";
import { snapshotHostExecuted } from "../sandbox/host-executed-snapshot.js";
import { reap } from "../sandbox/reaper.js";
import { agentUserFor, currentHostUser, type SandboxSpec } from "../sandbox/spec.js";
import { baseContract, type ContractSchema } from "./contract.js";
import { sharedPools, type Pools } from "./pool.js";
import { roleContract } from "./roles.js";
import { checkWorkspace, executeTask, readPromptFile, type TaskEvent, type TaskRequest } from "./run-task.js";
import type { TaskPlan } from "./task-plan.js";
import type { TaskResult, Timeouts } from "./task.js";
import type { WarmPool } from "./warm-pool.js";
import { warmCanServe } from "./sandbox-source.js";
import { traced, tracedSync } from "../util/trace.js";

export interface RunTaskOptions {
  workspace: string;
  /** Which front door plans the task (eval, judge, bridge, service); default "run". */
  entry?: Exclude<EntryPoint, "up">;
  prompt?: string;
  promptFile?: string;
  role?: string;
  /** "provider/model"; overrides the role and the configs. */
  model?: string;
  /** The Agent Contract; default the base contract, or the role's. */
  contract?: ContractSchema;
  structuredOutput?: boolean;
  timeouts?: Partial<Timeouts>;
  maxRetriesOnMalformedOutput?: number;
  structurer?: { enabled?: boolean; model?: string; timeoutS?: number };
  rateLimitPatterns?: string[];
  /** A file with ocbox.yaml's workflow keys (roles, pools, executor); default the project's ocbox.yaml. Passed explicitly, so approved. */
  workflowFile?: string;
  /**
   * `--approve-config`: approve (and record) the ocbox.yaml and opencode.json(c) found from the
   * workspace even when they weaken the sandbox. Without it such a file that is not approved stops
   * the task with a CONFIG error (exit 2).
   */
  approveConfig?: boolean;
  /**
   * A benchmark task set's capability-granting files (task.toml, environment/Dockerfile), read by
   * the caller: checked for approval with the rest, before any image builds (issue 13).
   */
  taskFiles?: Array<{ kind: "task-toml" | "task-dockerfile"; path: string; text: string }>;
  /** The project config, instead of the ocbox.yaml found from the workspace upwards. */
  config?: ProjectConfig;
  /** Extra OpenCode config for the sandbox (providers, permissions). */
  opencodeConfig?: Record<string, unknown>;
  /** The unattended policy for OpenCode's permission asks: reject (default) or allow each one. */
  permissions?: PermissionPolicy;
  /** Extra host loopback ports to forward. */
  forwardPorts?: number[];
  /** Extra environment for the agent container (after the env rules). */
  env?: Record<string, string>;
  taskId?: string;
  engine?: Engine;
  images?: ImageSet;
  pools?: Pools;
  warmPool?: WarmPool;
  /** The warm pool for the planned profile (a service owning one per profile); `warmPool` wins. */
  warmPoolFor?: (plan: TaskPlan) => WarmPool | undefined;
  /**
   * The environment the env rules and model gateways read; default this process's. A service
   * passes the values its client resolved and never its own environment.
   */
  hostEnv?: Readonly<Record<string, string | undefined>>;
  signal?: AbortSignal;
  onEvent?: (e: TaskEvent) => void;
  /**
   * E11: workspace dirs shadowed by named volumes that persist between runs (node_modules, target);
   * default ocbox.yaml's `volumes`. Tasks with volumes start cold.
   */
  volumes?: string[];
  /**
   * C8, unsafe: mount the host's Docker socket in the agent container (the agent then controls
   * the host's engine); default ocbox.yaml's `unsafe.hostDockerSocket`. Warned about on every task.
   */
  hostDockerSocket?: boolean;
  /** The sandbox's OpenCode server logging; default INFO, printed. */
  server?: SandboxSpec["server"];
  /**
   * `--copy`: copy the workspace into the sandbox through the engine API and sync the agent's work
   * back at the end, even where the engine could mount it; default ocbox.yaml's `workspace.mode`
   * (auto: probe the engine).
   */
  copy?: boolean;
  onSession?: TaskRequest["onSession"];
  afterAgent?: TaskRequest["afterAgent"];
}

let reaped: Promise<unknown> | undefined;
/** Remove leftovers of dead owners once per process, before the first sandbox. */
export function reapOnce(engine: Engine): Promise<unknown> {
  // A failed reap (the engine does not answer) is the caller's error; the next call tries again.
  reaped ??= reap(engine).catch((e: unknown) => {
    reaped = undefined;
    throw e;
  });
  return reaped;
}

interface ConfigFound {
  config: ProjectConfig;
  base: string;
  project?: { root: string; sandboxId: string };
  /** The ocbox.yaml found from the workspace upwards, as read (absent: the caller passed `config`, or none). */
  read?: ReadProject;
}

async function projectConfigFor(options: RunTaskOptions, workspace: string): Promise<ConfigFound> {
  if (options.config) return { config: options.config, base: workspace };
  const root = await findProjectRoot(workspace);
  if (!root) return { config: defaultProjectConfig(), base: workspace };
  const loaded = await loadProjectConfig(root);
  return {
    config: loaded.config,
    base: loaded.root,
    project: { root: loaded.root, sandboxId: loaded.sandboxId },
    read: loaded,
  };
}

async function workflowFrom(file: string): Promise<{ text: string; config: ProjectConfig }> {
  const text = await readFile(file, "utf8").catch((e: unknown) => {
    throw new OcboxError("USAGE", `cannot read the workflow file ${file}: ${errorMessage(e)}`, {
      fix: "Check the --workflow path.",
    });
  });
  return { text, config: parseProjectConfig(text, file) };
}

/** The text of the role's system prompt file (relative to the workflow), read for the planner. */
async function rolePromptText(
  role: string | undefined,
  workflow: ProjectConfig,
  base: string,
): Promise<string | undefined> {
  const file = role ? workflow.roles?.[role]?.systemPromptFile : undefined;
  if (!file) return undefined;
  return readFile(join(base, file), "utf8").catch((e: unknown) => {
    // A missing file is the planner's CONFIG error naming the role; anything else is said as it is.
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new OcboxError("CONFIG", `role ${role}: cannot read systemPromptFile ${file}: ${errorMessage(e)}`, {
      fix: "Make the file readable, or fix the path (it is relative to the config file).",
    });
  });
}

/** The planner's caller options from the library's. */
function callerOptions(options: RunTaskOptions): CallerOptions {
  return {
    role: options.role,
    model: options.model,
    contractGiven: options.contract !== undefined,
    structuredOutput: options.structuredOutput,
    timeouts: options.timeouts,
    maxRetriesOnMalformedOutput: options.maxRetriesOnMalformedOutput,
    structurer: options.structurer,
    rateLimitPatterns: options.rateLimitPatterns,
    opencodeConfig: options.opencodeConfig,
    forwardPorts: options.forwardPorts,
    env: options.env,
    volumes: options.volumes,
    hostDockerSocket: options.hostDockerSocket,
    copy: options.copy,
    server: options.server,
    permissions: options.permissions,
  };
}

/** The zod schema for the planner's contract choice. */
function contractOf(choice: TaskDecisions["contract"], given: ContractSchema | undefined): ContractSchema {
  if (choice.source === "caller" && given) return given;
  return choice.source === "role" ? roleContract(choice.sections) : baseContract;
}

/** What an unattended entry point read: the planner's input, and the approval scope and files. */
export interface TaskInputs {
  input: Omit<PlanInput, "images" | "users">;
  approval: ApprovalState;
  scope: ApprovalScope;
  read: ReadFiles;
}

/** The approval scope: the project root (nearest ocbox.yaml), else the workspace itself. */
function scopeFor(found: ConfigFound, workspace: string): ApprovalScope {
  return found.read ? projectScope(found.read.root, found.read.sandboxId) : folderScope(workspace, undefined);
}

/**
 * What planTask reads for the planner: the configs, the workspace's opencode.json, the role's
 * prompt, each read once, and their approval state. A `config` or `workflowFile` the caller
 * passes counts as approved; the ocbox.yaml and opencode.json found from the workspace do not.
 */
export async function readTaskInputs(options: RunTaskOptions, dry = false): Promise<TaskInputs> {
  const workspace = await checkWorkspace(options.workspace);
  const found = await projectConfigFor(options, workspace);
  const scope = scopeFor(found, workspace);
  const read = emptyRead();
  if (found.read) addConfig(read, scope, "ocbox-yaml", { abs: found.read.file, ...found.read });
  const workflowFile = options.workflowFile ? resolve(options.workflowFile) : undefined;
  const wf = workflowFile ? await workflowFrom(workflowFile) : undefined;
  if (wf && workflowFile) addConfig(read, scope, "workflow", { abs: workflowFile, ...wf, explicit: true });
  const workspaceOpencode = await readWorkspaceOpencodeConfig(workspace);
  if (workspaceOpencode) addOpencode(read, scope, workspaceOpencode);
  for (const f of options.taskFiles ?? []) addTaskFile(read, scope, f.kind, f.path, f.text);
  const entry = options.entry ?? "run";
  const how = options.approveConfig ? "flag" : dry ? "interactive" : "none";
  const approval = await checkApproval(entry, scope, read, how);
  const workflow = wf?.config ?? found.config;
  const workflowBase = workflowFile ? dirname(workflowFile) : found.base;
  // A prompt file is read only once its config is approved (a ../ path may name a host file).
  const rolePrompt =
    approval.kind === "approved"
      ? await rolePromptText(options.role, workflow, workflowBase)
      : "(not read: the config is not approved)";
  const input = {
    entry,
    config: found.config,
    ...(found.project ? { project: found.project } : {}),
    workflow,
    ...(workspaceOpencode ? { workspaceOpencode } : {}),
    hostEnv: options.hostEnv ?? process.env,
    // eval run's default extra OpenCode config is the task set's opencode.json, as approved here.
    options: callerOptions({
      ...options,
      ...(options.opencodeConfig === undefined && entry === "eval-run" && workspaceOpencode
        ? { opencodeConfig: workspaceOpencode.config }
        : {}),
    }),
    rolePrompt,
    approval,
  };
  return { input, approval, scope, read };
}

/** What planTask reads for the planner (see readTaskInputs), for a plan that starts nothing. */
export async function readPlanInput(options: RunTaskOptions): Promise<Omit<PlanInput, "images" | "users">> {
  return (await readTaskInputs(options, true)).input;
}

/**
 * Read a task's inputs and obey their approval (exit 2 naming the files and keys when an
 * unapproved one weakens the sandbox); record what `approveConfig` approved.
 */
export async function approvedTaskInputs(options: RunTaskOptions): Promise<TaskInputs> {
  const inputs = await readTaskInputs(options);
  obeyApproval(inputs.approval, inputs.scope.root);
  await recordDecided(inputs.approval, inputs.scope, inputs.read);
  return inputs;
}

/** A task's plan before the workspace probe, and the plan with it (see `planParts`). */
interface PlanParts {
  /** The plan as if nothing needed the engine's view of the workspace (a warm task's copy). */
  unprobed: TaskPlan;
  /** The plan with the probe's bind-or-copy answer (the probe runs at most once). */
  probed: () => Promise<TaskPlan>;
}

/**
 * Everything planTask does except the engine's path probe, which only a cold sandbox needs: a warm
 * task's workspace is copied on the host into a slot dir the engine already mounted.
 */
async function planParts(options: RunTaskOptions): Promise<PlanParts> {
  const { input } = await traced("plan.inputs+approval", () => approvedTaskInputs(options));
  // Every name the task uses is checked before the engine is touched.
  const task = tracedSync("plan.task-part", () => planTaskPart(input));
  const engine = options.engine ?? new DockerEngine();
  const { config } = input;
  // The reap, the image check and the catalogue need nothing of each other: at once. The reap is
  // done before this returns, so before any sandbox starts.
  const [, images, catalogue] = await Promise.all([
    traced("plan.reap-once", () => reapOnce(engine)),
    options.images ??
      traced("plan.ensure-images", () =>
        ensureImages(engine, {
          ...(config.image?.base ? { base: config.image.base } : {}),
          ...(config.image?.packages ? { packages: config.image.packages } : {}),
        }),
      ),
    // No auth.json goes into a task sandbox: only the keys passed in and the configs count.
    traced("plan.provider-catalogue", () => readProviderCatalogue(findAnyOpencodeBinary(), process.env)),
  ]);
  const host = currentHostUser();
  const pools = options.pools ?? sharedPools;
  for (const [name, max] of Object.entries(task.pools)) pools.define(name, max);
  const { pools: _defined, contract, ...decided } = task;
  const planWith = (probe: ProbeAnswer | undefined): TaskPlan => {
    const { profile, egressGaps } = tracedSync("plan.sandbox", () =>
      planSandbox({
        ...input,
        ...(probe ? { workspaceProbe: { ...probe, endpoint: engine.endpoint } } : {}),
        images: { sandbox: images.sandbox.tag, egress: images.egress.tag },
        users: { host, agent: agentUserFor(host, AGENT_UID) },
        providers: { catalogue, authProviders: [], model: task.model, alsoModels: [task.structurer.model] },
      }),
    );
    return {
      ...decided,
      engine,
      images,
      profile,
      contract: contractOf(contract, options.contract),
      ...(egressGaps.warnings.length ? { egressWarnings: egressGaps.warnings } : {}),
    };
  };
  const unprobed = planWith(undefined);
  if (!needsProbe({ forceCopy: options.copy, configured: config.workspace.mode }))
    return { unprobed, probed: () => Promise.resolve(unprobed) };
  let probed: Promise<TaskPlan> | undefined;
  const probe = async () =>
    planWith(
      await traced("plan.path-probe", async () =>
        engineSeesPath(engine, await realpath(options.workspace), images.sandbox.tag),
      ),
    );
  return { unprobed, probed: () => (probed ??= probe()) };
}

/** Resolve and check everything a task needs (plan/ decides); no sandbox is started. */
export async function planTask(options: RunTaskOptions): Promise<TaskPlan> {
  return (await planParts(options)).probed();
}

/**
 * The plan a task runs on: without the probe when a warm sandbox will take it (its workspace goes
 * into the slot by a host copy whatever the engine sees), and `cold`, the probed plan, for when
 * none is left after all; with the probe otherwise.
 */
async function runPlan(
  options: RunTaskOptions,
): Promise<{ plan: TaskPlan; warmPool?: WarmPool; cold?: () => Promise<TaskPlan> }> {
  const parts = await planParts(options);
  const warmPool = options.warmPool ?? options.warmPoolFor?.(parts.unprobed);
  if (warmPool && warmCanServe(warmPool, parts.unprobed.profile)) {
    const profile = { ...parts.unprobed.profile, workspaceMode: WARM_WORKSPACE_MODE };
    return { plan: { ...parts.unprobed, profile }, warmPool, cold: parts.probed };
  }
  const plan = await parts.probed();
  return warmPool ? { plan, warmPool } : { plan };
}

const WARM_WORKSPACE_MODE = "copied into a warm sandbox, synced back at the end";

/** One agent task in a fresh sandbox, to a typed result (FEATURES E1). */
export async function runTask(options: RunTaskOptions): Promise<TaskResult> {
  if ((options.prompt === undefined) === (options.promptFile === undefined)) {
    throw new OcboxError("USAGE", "give exactly one of prompt and promptFile", {
      fix: "Use --prompt TEXT or --prompt-file FILE.",
    });
  }
  const prompt = options.prompt ?? (await readPromptFile(options.promptFile as string));
  const { plan, warmPool, cold } = await traced("task.plan", () => runPlan(options));
  options.onEvent?.({
    phase: "sandbox",
    message: `workspace: ${plan.profile.workspaceMode ?? "bind mount"}`,
  });
  // Files the host runs later (git hooks, package.json scripts, ...): what the agent changed.
  const workspace = resolve(options.workspace);
  const before = await traced("task.host-executed-snapshot", () =>
    snapshotHostExecuted(workspace, DEFAULT_HOOK_PATH),
  );
  const result = await traced("task.execute", () =>
    executeTask(plan, {
      workspace: options.workspace,
      prompt,
      ...(options.taskId ? { taskId: options.taskId } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onEvent ? { onEvent: options.onEvent } : {}),
      ...(options.pools ? { pools: options.pools } : {}),
      ...(warmPool ? { warmPool } : {}),
      ...(cold ? { coldPlan: cold } : {}),
      ...(options.onSession ? { onSession: options.onSession } : {}),
      ...(options.afterAgent ? { afterAgent: options.afterAgent } : {}),
    }),
  );
  const after = await traced("task.host-executed-snapshot-after", () =>
    snapshotHostExecuted(workspace, DEFAULT_HOOK_PATH),
  );
  return { ...result, hostExecutedEdits: hostExecutedEdits(before, after, DEFAULT_HOOK_PATH) };
}
