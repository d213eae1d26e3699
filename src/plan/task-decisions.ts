/**
 * The task part of a plan (FEATURES E4–E12): model, role, contract, structure, pool, timeouts,
 * retries, structurer and rate-limit patterns, from the workflow config (ocbox.yaml or
 * --workflow), the role, and the caller's options, in that order (a later one wins). Everything
 * a task names is checked here, before any sandbox starts. Pure: the role's system prompt file
 * is read by the caller and arrives as text.
 */
import type { ProjectConfig } from "../config/project-schema.js";
import { OcboxError, errorMessage } from "../errors.js";
import { checkModel, type KnownModels } from "./known-models.js";
import { configuredModel, parseModelRef, type ModelRef } from "./model-ref.js";
import { compilePattern } from "./rate-limit-pattern.js";
import { planRole, type PlannedRole } from "./role.js";
import { DEFAULT_TIMEOUTS, type Timeouts } from "./timeouts.js";

/** Which Agent Contract the task asks for; the executor turns it into the zod schema. */
export type ContractChoice =
  | { source: "caller" }
  | { source: "role"; role: string; sections: PlannedRole["sections"] }
  | { source: "base" };

export interface TaskOptions {
  role?: string | undefined;
  /** "provider/model"; overrides the role and the configs. */
  model?: string | undefined;
  /** The caller hands in its own contract schema. */
  contractGiven?: boolean;
  structuredOutput?: boolean | undefined;
  timeouts?: Partial<Timeouts> | undefined;
  maxRetriesOnMalformedOutput?: number | undefined;
  structurer?: { enabled?: boolean; model?: string; timeoutS?: number } | undefined;
  rateLimitPatterns?: string[] | undefined;
  /** How the executor answers an OpenCode permission ask that still arrives; default reject. */
  permissions?: AskPolicy | undefined;
}

/** The unattended answer to a permission ask (executor/permission-policy.ts answers it). */
export type AskPolicy = "reject" | "autonomous";

export interface TaskDecisions {
  model: ModelRef | undefined;
  role: string | null;
  system: string | undefined;
  contract: ContractChoice;
  structuredOutput: boolean;
  pool: string;
  /** The workflow's pools: name → maxConcurrent (the caller defines them on its Pools). */
  pools: Record<string, number>;
  timeouts: Timeouts;
  maxRetriesOnMalformedOutput: number;
  structurer: { enabled: boolean; model: ModelRef | undefined };
  rateLimitPatterns: string[];
  /** Model and rate-limit retries (not malformed output). */
  maxModelRetries: number;
  maxRateLimitRetries: number;
  /** The unattended answer to permission asks. */
  permissions: AskPolicy;
}

function checkPatterns(patterns: readonly string[]): void {
  for (const p of patterns) {
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
}

function planTimeouts(
  exec: NonNullable<ProjectConfig["executor"]>,
  role: PlannedRole | undefined,
  options: TaskOptions,
): Timeouts {
  return {
    ...DEFAULT_TIMEOUTS,
    ...(exec.timeouts?.hardS !== undefined ? { hardS: exec.timeouts.hardS } : {}),
    ...(exec.timeouts?.inactivityS !== undefined ? { inactivityS: exec.timeouts.inactivityS } : {}),
    ...(exec.structurer?.timeoutS !== undefined ? { structurerS: exec.structurer.timeoutS } : {}),
    ...(role?.timeouts?.hardS !== undefined ? { hardS: role.timeouts.hardS } : {}),
    ...(role?.timeouts?.inactivityS !== undefined ? { inactivityS: role.timeouts.inactivityS } : {}),
    ...(options.structurer?.timeoutS !== undefined ? { structurerS: options.structurer.timeoutS } : {}),
    ...options.timeouts,
  };
}

export function planTaskDecisions(input: {
  workflow: ProjectConfig;
  options: TaskOptions;
  /** Providers and models the task may name (the generated config and the workspace's). */
  known: KnownModels;
  /** The OpenCode configs in load order, for their default `model`. */
  configs: ReadonlyArray<Record<string, unknown> | undefined>;
  /** The text of the role's systemPromptFile; undefined when it does not exist. */
  rolePrompt?: string | undefined;
}): TaskDecisions {
  const { workflow, options, known } = input;
  const exec = workflow.executor ?? {};
  const role = options.role ? planRole(options.role, workflow.roles, known, input.rolePrompt) : undefined;
  const model = options.model
    ? parseModelRef(options.model)
    : (role?.model ?? configuredModel(...input.configs));
  if (model) checkModel(model, known, options.model ? "--model" : "model");
  const structurerModel = options.structurer?.model ?? exec.structurer?.model;
  const structurerRef = structurerModel ? parseModelRef(structurerModel, "structurer model") : undefined;
  if (structurerRef) checkModel(structurerRef, known, "executor.structurer");
  const rateLimitPatterns = [...(exec.rateLimitPatterns ?? []), ...(options.rateLimitPatterns ?? [])];
  checkPatterns(rateLimitPatterns);
  const contract: ContractChoice = options.contractGiven
    ? { source: "caller" }
    : role
      ? { source: "role", role: role.name, sections: role.sections }
      : { source: "base" };
  return {
    model,
    role: role?.name ?? null,
    system: role?.systemPrompt,
    contract,
    structuredOutput: options.structuredOutput ?? role?.structuredOutput ?? true,
    pool: role?.pool ?? model?.providerID ?? "default",
    pools: Object.fromEntries(Object.entries(workflow.pools ?? {}).map(([n, p]) => [n, p.maxConcurrent])),
    timeouts: planTimeouts(exec, role, options),
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
