/**
 * The OpenCode model config generated from the `model` key (FEATURES D4): a provider block for an
 * OpenAI-compatible server (`@ai-sdk/openai-compatible`, base URL, key reference, model aliases
 * with context/output limits) plus `model` and `small_model`. Pure.
 *
 * The API key never appears in the result. With `apiKeyEnv`, the provider reads `{env:VAR}` inside
 * the sandbox and `envMap` says which host variable must be passed in under that name (merge it
 * into the env rules' `map`). Without it, a dummy key is written: local servers ignore it.
 */
import type { ModelConfig } from "./project-schema.js";

export const OPENAI_COMPATIBLE_NPM = "@ai-sdk/openai-compatible";
export const DUMMY_API_KEY = "ocbox-no-key";

export interface OpencodeModelEntry {
  id?: string;
  name: string;
  limit?: { context: number; output: number };
}

export interface OpencodeProviderBlock {
  npm?: string;
  name?: string;
  options?: { baseURL?: string; apiKey?: string };
  models: Record<string, OpencodeModelEntry>;
}

export interface OpencodeModelConfig {
  provider: Record<string, OpencodeProviderBlock>;
  model?: string;
  small_model?: string;
}

export interface GeneratedModelConfig {
  /** Keys to merge into opencode.json. */
  opencode: OpencodeModelConfig;
  /** Container variable ← host variable needed by `{env:…}` references. */
  envMap: Record<string, string>;
}

/** `http://h:8080` → `http://h:8080/v1`; a URL with a path keeps it. Trailing slashes go. */
export function normaliseBaseURL(baseURL: string): string {
  const url = new URL(baseURL);
  const path = url.pathname.replace(/\/+$/, "");
  url.pathname = path === "" ? "/v1" : path;
  return url.toString().replace(/\/+$/, "");
}

/** Output tokens when only the context is given: a quarter of it, at most 8192. */
export function defaultOutputTokens(context: number): number {
  return Math.min(8192, Math.floor(context / 4));
}

export function generateModelConfig(model: ModelConfig): GeneratedModelConfig {
  const aliases = Object.keys(model.models);
  const models: Record<string, OpencodeModelEntry> = {};
  for (const [alias, entry] of Object.entries(model.models)) {
    models[alias] = {
      ...(entry.id !== undefined && entry.id !== alias ? { id: entry.id } : {}),
      name: entry.name ?? alias,
      ...(entry.context !== undefined
        ? { limit: { context: entry.context, output: entry.output ?? defaultOutputTokens(entry.context) } }
        : {}),
    };
  }
  const apiKey =
    model.apiKeyEnv !== undefined
      ? `{env:${model.apiKeyEnv}}`
      : model.baseURL !== undefined
        ? DUMMY_API_KEY
        : undefined;
  const options = {
    ...(model.baseURL !== undefined ? { baseURL: normaliseBaseURL(model.baseURL) } : {}),
    ...(apiKey !== undefined ? { apiKey } : {}),
  };
  const block: OpencodeProviderBlock = {
    ...(model.baseURL !== undefined ? { npm: OPENAI_COMPATIBLE_NPM, name: model.provider } : {}),
    ...(Object.keys(options).length > 0 ? { options } : {}),
    models,
  };
  const main = model.default ?? aliases[0];
  const small = model.small ?? main;
  return {
    opencode: {
      provider: { [model.provider]: block },
      ...(main !== undefined ? { model: `${model.provider}/${main}` } : {}),
      ...(small !== undefined ? { small_model: `${model.provider}/${small}` } : {}),
    },
    envMap: model.apiKeyEnv !== undefined ? { [model.apiKeyEnv]: model.apiKeyEnv } : {},
  };
}
