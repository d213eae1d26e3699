/**
 * Which providers and models a task may name (FEATURES E9, E13): those its OpenCode configs define
 * and OpenCode's built-in ones. Checked before any sandbox starts. Pure.
 */
import { OcboxError } from "../errors.js";
import type { ModelRef } from "./model-ref.js";

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
