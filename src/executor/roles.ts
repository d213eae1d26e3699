/**
 * Roles (FEATURES E9): a role names the model, the system prompt, the role-specific contract
 * fields and whether to ask for wire-enforced structure. Everything a role refers to is checked
 * before any sandbox starts, and an error names the role.
 */
import { z } from "zod";
import { OcboxError } from "../errors.js";
import type { RoleConfig } from "../config/workflow-schema.js";
import { contractSchemaFor, type ContractSchema } from "./contract.js";
import { parseModelRef, type ModelRef } from "./model.js";

/** Providers OpenCode knows without config (its bundled catalogue's common ids). */
export const BUILT_IN_PROVIDERS: readonly string[] = [
  "anthropic",
  "openai",
  "google",
  "google-vertex",
  "openrouter",
  "groq",
  "mistral",
  "deepseek",
  "xai",
  "amazon-bedrock",
  "azure",
  "github-copilot",
  "opencode",
  "vercel",
  "togetherai",
  "fireworks-ai",
  "cerebras",
  "deepinfra",
  "huggingface",
  "moonshotai",
  "zai",
  "alibaba",
  "ollama",
  "lmstudio",
];

export interface KnownModels {
  /** Providers defined in config: id → model ids it lists (empty = any). */
  configured: Record<string, string[]>;
}

/** Providers and model ids defined in OpenCode configs (`provider.<id>.models`). Pure. */
export function knownModels(...configs: Array<Record<string, unknown> | undefined>): KnownModels {
  const configured: Record<string, string[]> = {};
  for (const c of configs) {
    const providers = (c?.provider ?? {}) as Record<string, { models?: Record<string, unknown> } | undefined>;
    for (const [id, p] of Object.entries(providers)) {
      configured[id] = [...new Set([...(configured[id] ?? []), ...Object.keys(p?.models ?? {})])];
    }
  }
  return { configured };
}

/** Throws a CONFIG error naming `where` when the model's provider or alias is unknown. Pure. */
export function checkModel(model: ModelRef, known: KnownModels, where: string): void {
  const listed = known.configured[model.providerID];
  if (listed === undefined) {
    if (BUILT_IN_PROVIDERS.includes(model.providerID)) return;
    const all = [...Object.keys(known.configured), ...BUILT_IN_PROVIDERS];
    throw new OcboxError("CONFIG", `${where}: unknown provider "${model.providerID}"`, {
      detail: `known providers: ${all.join(", ")}`,
      fix: "Define the provider under `provider` in opencode.json, or under `model` in ocbox.yaml, or fix the name.",
    });
  }
  if (listed.length > 0 && !listed.includes(model.modelID)) {
    throw new OcboxError(
      "CONFIG",
      `${where}: provider "${model.providerID}" has no model "${model.modelID}"`,
      {
        detail: `its models: ${listed.join(", ")}`,
        fix: `Use one of its models, or add "${model.modelID}" under provider.${model.providerID}.models.`,
      },
    );
  }
}

const SECTION_ZOD = {
  string: () => z.string(),
  "string[]": () => z.array(z.string()),
  number: () => z.number(),
  boolean: () => z.boolean(),
  object: () => z.record(z.string(), z.unknown()),
} as const;

/** The Agent Contract of a role: the base contract plus its sections. Pure. */
export function roleContract(sections: RoleConfig["sections"]): ContractSchema {
  if (!sections || Object.keys(sections).length === 0) return contractSchemaFor();
  const shape = Object.fromEntries(Object.entries(sections).map(([k, t]) => [k, SECTION_ZOD[t]()]));
  return contractSchemaFor(z.object(shape)) as unknown as ContractSchema;
}

export interface ResolvedRole {
  name: string;
  model: ModelRef | undefined;
  systemPrompt: string | undefined;
  contract: ContractSchema;
  structuredOutput: boolean;
  pool: string | undefined;
  timeouts: RoleConfig["timeouts"];
}

/**
 * Resolve a role by name. `readPrompt` loads the system prompt file (relative to the config);
 * a missing file is reported with the role named.
 */
export async function resolveRole(
  name: string,
  roles: Record<string, RoleConfig> | undefined,
  known: KnownModels,
  readPrompt: (file: string) => Promise<string | undefined>,
): Promise<ResolvedRole> {
  const role = roles?.[name];
  if (!role) {
    const names = Object.keys(roles ?? {});
    throw new OcboxError("CONFIG", `unknown role "${name}"`, {
      fix: names.length
        ? `Use one of: ${names.join(", ")}; or define it under roles: in ocbox.yaml.`
        : "Define it under roles: in ocbox.yaml (or --workflow FILE).",
    });
  }
  const model = role.model ? parseModelRef(role.model, `role ${name}: model`) : undefined;
  if (model) checkModel(model, known, `role ${name}`);
  let systemPrompt: string | undefined;
  if (role.systemPromptFile) {
    systemPrompt = await readPrompt(role.systemPromptFile);
    if (systemPrompt === undefined) {
      throw new OcboxError(
        "CONFIG",
        `role ${name}: systemPromptFile ${role.systemPromptFile} does not exist`,
        {
          fix: "Create the file, or fix the path (it is relative to the config file).",
        },
      );
    }
  }
  return {
    name,
    model,
    systemPrompt,
    contract: roleContract(role.sections),
    structuredOutput: role.structuredOutput ?? true,
    pool: role.pool,
    timeouts: role.timeouts,
  };
}
