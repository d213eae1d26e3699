/**
 * The library call `runTask(options)`: resolve model, role, contract, pools, timeouts and the
 * sandbox profile from the same places `ocbox up` uses (the workspace's ocbox.yaml and
 * opencode.json, a workflow file, flags overriding), check them all before any sandbox starts,
 * then run the task.
 */
import { readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { projectEnvRules, resolveEnv } from "../config/env-rules.js";
import { resolveCopyBackCaps, resolveLimits } from "../config/limits.js";
import { findProjectRoot, loadProjectConfig } from "../config/load.js";
import type { PermissionPolicy } from "./permission-policy.js";
import { readWorkspaceOpencodeConfig } from "../config/opencode-json.js";
import { parseProjectConfig } from "../config/parse.js";
import { DEFAULT_HOOK_PATH, defaultProjectConfig, type ProjectConfig } from "../config/project-schema.js";
import { normalizeVolumePath, volumeListProblems, volumePathProblem } from "../config/volume-paths.js";
import { generateModelConfig } from "../config/provider.js";
import { egressSpecFromConfig, gatewayPorts, withholdGatewayKeys } from "../egress/config.js";
import { OcboxError, errorMessage } from "../errors.js";
import { ensureImages, type ImageSet } from "../image/build.js";
import { DockerEngine } from "../runtime/docker-engine.js";
import type { Engine } from "../runtime/engine.js";
import { hardeningFromConfig } from "../sandbox/hardening.js";
import { hostExecutedEdits } from "../sandbox/host-executed-edits.js";
import { snapshotHostExecuted } from "../sandbox/host-executed-snapshot.js";
import { reap } from "../sandbox/reaper.js";
import { DEFAULT_LIMITS, type SandboxSpec } from "../sandbox/spec.js";
import { compilePattern } from "./hints.js";
import { baseContract, type ContractSchema } from "./contract.js";
import { configuredModel, loopbackPorts, parseModelRef, type ModelRef } from "./model.js";
import { sharedPools, type Pools } from "./pool.js";
import { knownModels, checkModel, resolveRole } from "./roles.js";
import {
  checkWorkspace,
  executeTask,
  readPromptFile,
  type TaskEvent,
  type TaskPlan,
  type TaskRequest,
} from "./run-task.js";
import type { SandboxProfile } from "./sandbox-source.js";
import { DEFAULT_TIMEOUTS, type TaskResult, type Timeouts } from "./task.js";
import type { WarmPool } from "./warm-pool.js";

export interface RunTaskOptions {
  workspace: string;
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
  /** A file with ocbox.yaml's workflow keys (roles, pools, executor); default the project's ocbox.yaml. */
  workflowFile?: string;
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

async function projectConfigFor(
  options: RunTaskOptions,
  workspace: string,
): Promise<{ config: ProjectConfig; base: string; project?: { root: string; sandboxId: string } }> {
  if (options.config) return { config: options.config, base: workspace };
  const root = await findProjectRoot(workspace);
  if (!root) return { config: defaultProjectConfig(), base: workspace };
  const loaded = await loadProjectConfig(root);
  return {
    config: loaded.config,
    base: loaded.root,
    project: { root: loaded.root, sandboxId: loaded.sandboxId },
  };
}

/** The library's `volumes` option, checked like ocbox.yaml's key. */
function checkVolumes(paths: readonly string[]): string[] {
  const problems = [
    ...paths.flatMap((p, index) => {
      const found = volumePathProblem(p);
      return found ? [{ index, ...found }] : [];
    }),
  ];
  if (problems.length === 0) problems.push(...volumeListProblems(paths));
  const first = problems[0];
  if (first) {
    throw new OcboxError("USAGE", `volumes[${first.index}] ${first.problem}`, { fix: first.fix });
  }
  return paths.map(normalizeVolumePath);
}

async function workflowFrom(file: string): Promise<ProjectConfig> {
  const text = await readFile(file, "utf8").catch((e: unknown) => {
    throw new OcboxError("USAGE", `cannot read the workflow file ${file}: ${errorMessage(e)}`, {
      fix: "Check the --workflow path.",
    });
  });
  return parseProjectConfig(text, file);
}

/** Resolve and check everything a task needs; no sandbox is started. */
export async function planTask(options: RunTaskOptions): Promise<TaskPlan> {
  const workspace = await checkWorkspace(options.workspace);
  const { config, base, project } = await projectConfigFor(options, workspace);
  const workflow = options.workflowFile ? await workflowFrom(resolve(options.workflowFile)) : config;
  const workflowBase = options.workflowFile ? dirname(resolve(options.workflowFile)) : base;
  const exec = workflow.executor ?? {};

  const generated = config.model ? generateModelConfig(config.model) : undefined;
  const workspaceConfig = (await readWorkspaceOpencodeConfig(workspace))?.config;
  const opencodeConfig: Record<string, unknown> = {
    permission: { "*": "allow" },
    ...(generated?.opencode ?? {}),
    ...(options.opencodeConfig ?? {}),
    provider: {
      ...(generated?.opencode.provider ?? {}),
      ...(options.opencodeConfig?.provider ?? {}),
    },
  };
  const known = knownModels(opencodeConfig, workspaceConfig);

  const role = options.role
    ? await resolveRole(options.role, workflow.roles, known, (f) =>
        readFile(join(workflowBase, f), "utf8").catch(() => undefined),
      )
    : undefined;
  const model: ModelRef | undefined = options.model
    ? parseModelRef(options.model)
    : (role?.model ?? configuredModel(opencodeConfig, workspaceConfig));
  if (model) checkModel(model, known, options.model ? "--model" : "model");
  const structurerModel = options.structurer?.model ?? exec.structurer?.model;
  const structurerRef = structurerModel ? parseModelRef(structurerModel, "structurer model") : undefined;
  if (structurerRef) checkModel(structurerRef, known, "executor.structurer");

  const rateLimitPatterns = [...(exec.rateLimitPatterns ?? []), ...(options.rateLimitPatterns ?? [])];
  for (const p of rateLimitPatterns) {
    try {
      compilePattern(p);
    } catch (e) {
      throw new OcboxError(
        "CONFIG",
        `rate-limit pattern ${p} is not a valid regular expression: ${errorMessage(e)}`,
        {
          fix: "Fix the pattern, or write it without slashes to match it as plain text.",
        },
      );
    }
  }

  const pools = options.pools ?? sharedPools;
  for (const [name, p] of Object.entries(workflow.pools ?? {})) pools.define(name, p.maxConcurrent);

  const timeouts: Timeouts = {
    ...DEFAULT_TIMEOUTS,
    ...(exec.timeouts?.hardS !== undefined ? { hardS: exec.timeouts.hardS } : {}),
    ...(exec.timeouts?.inactivityS !== undefined ? { inactivityS: exec.timeouts.inactivityS } : {}),
    ...(exec.structurer?.timeoutS !== undefined ? { structurerS: exec.structurer.timeoutS } : {}),
    ...(role?.timeouts?.hardS !== undefined ? { hardS: role.timeouts.hardS } : {}),
    ...(role?.timeouts?.inactivityS !== undefined ? { inactivityS: role.timeouts.inactivityS } : {}),
    ...(options.structurer?.timeoutS !== undefined ? { structurerS: options.structurer.timeoutS } : {}),
    ...options.timeouts,
  };

  const engine = options.engine ?? new DockerEngine();
  await reapOnce(engine);
  const images =
    options.images ??
    (await ensureImages(engine, {
      ...(config.image?.base ? { base: config.image.base } : {}),
      ...(config.image?.packages ? { packages: config.image.packages } : {}),
    }));
  const env = resolveEnv({
    ...projectEnvRules(config.env, process.env),
    map: { ...config.env.map, ...(generated?.envMap ?? {}) },
  }).env;
  const egress = egressSpecFromConfig(config.egress, process.env);
  const volumes = checkVolumes(options.volumes ?? config.volumes ?? []);
  const viaGateway = gatewayPorts(egress);
  const profile: SandboxProfile = {
    images: { sandbox: images.sandbox.tag, egress: images.egress.tag },
    opencodeConfig,
    forwardPorts: [
      ...new Set([
        ...loopbackPorts(opencodeConfig, workspaceConfig).filter((p) => !viaGateway.has(p)),
        ...config.egress.hostPorts,
        ...(options.forwardPorts ?? []),
      ]),
    ].sort((a, b) => a - b),
    env: withholdGatewayKeys({ ...env, ...(options.env ?? {}) }, egress).env,
    limits: resolveLimits(config.limits, DEFAULT_LIMITS),
    copyBack: resolveCopyBackCaps(config.limits.copyBack),
    readyTimeoutMs: timeouts.readyS * 1000,
    egress,
    hardening: hardeningFromConfig(config.hardening),
    ...((options.hostDockerSocket ?? config.unsafe?.hostDockerSocket) ? { hostDockerSocket: true } : {}),
    ...(volumes.length ? { cacheVolumes: { paths: volumes, ...(project ? { project } : {}) } } : {}),
    ...(config.apt.allow.length ? { aptAllow: [...config.apt.allow] } : {}),
    ...(options.server ? { server: options.server } : {}),
  };

  return {
    engine,
    images,
    profile,
    model,
    role: role?.name ?? null,
    system: role?.systemPrompt,
    contract: options.contract ?? role?.contract ?? baseContract,
    structuredOutput: options.structuredOutput ?? role?.structuredOutput ?? true,
    pool: role?.pool ?? model?.providerID ?? "default",
    timeouts,
    maxRetriesOnMalformedOutput: options.maxRetriesOnMalformedOutput ?? exec.maxRetriesOnMalformedOutput ?? 2,
    structurer: {
      enabled: options.structurer?.enabled ?? exec.structurer?.enabled ?? true,
      model: structurerRef,
    },
    rateLimitPatterns,
    maxModelRetries: 2,
    maxRateLimitRetries: 3,
    permissions: options.permissions ?? "reject",
  };
}

/** One agent task in a fresh sandbox, to a typed result (FEATURES E1). */
export async function runTask(options: RunTaskOptions): Promise<TaskResult> {
  if ((options.prompt === undefined) === (options.promptFile === undefined)) {
    throw new OcboxError("USAGE", "give exactly one of prompt and promptFile", {
      fix: "Use --prompt TEXT or --prompt-file FILE.",
    });
  }
  const prompt = options.prompt ?? (await readPromptFile(options.promptFile as string));
  const plan = await planTask(options);
  // Files the host runs later (git hooks, package.json scripts, ...): what the agent changed.
  const workspace = resolve(options.workspace);
  const before = await snapshotHostExecuted(workspace, DEFAULT_HOOK_PATH);
  const result = await executeTask(plan, {
    workspace: options.workspace,
    prompt,
    ...(options.taskId ? { taskId: options.taskId } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.onEvent ? { onEvent: options.onEvent } : {}),
    ...(options.pools ? { pools: options.pools } : {}),
    ...(options.warmPool ? { warmPool: options.warmPool } : {}),
    ...(options.onSession ? { onSession: options.onSession } : {}),
    ...(options.afterAgent ? { afterAgent: options.afterAgent } : {}),
  });
  const after = await snapshotHostExecuted(workspace, DEFAULT_HOOK_PATH);
  return { ...result, hostExecutedEdits: hostExecutedEdits(before, after, DEFAULT_HOOK_PATH) };
}
