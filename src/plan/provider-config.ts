/**
 * The OpenCode config ocbox hands the server (OPENCODE_CONFIG): the provider generated from
 * ocbox.yaml's `model` key (FEATURES D4), the permission policy's key, and the caller's own config
 * (library users, eval's --opencode-config) on top, providers merged by id. Every provider base URL
 * on `localhost` in it is pinned to 127.0.0.1: `localhost` resolves to ::1 first in some runtimes,
 * and the sandbox's relays listen on 127.0.0.1. Pure.
 */
import type { ModelConfig } from "../config/project-schema.js";
import { generateModelConfig } from "../config/provider.js";
import { permissionConfigKey, type PermissionPolicy } from "./permission-policy.js";

export const OPENCODE_CONFIG_SCHEMA = "https://opencode.ai/config.json";

export function pinLoopback(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return url; // not a URL: OpenCode reports it; nothing to pin
  }
  if (u.hostname !== "localhost") return url;
  u.hostname = "127.0.0.1";
  return u.toString().replace(/\/+$/, "");
}

/** Base URLs of every provider in an OpenCode config (`provider.*.options.baseURL`). */
export function providerBaseURLs(config: Record<string, unknown> | undefined): string[] {
  const providers = config?.provider;
  if (typeof providers !== "object" || providers === null) return [];
  return Object.values(providers as Record<string, { options?: { baseURL?: unknown } }>)
    .map((p) => p?.options?.baseURL)
    .filter((u): u is string => typeof u === "string");
}

type Block = { options?: Record<string, unknown> } & Record<string, unknown>;

function pinnedProviders(providers: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [id, raw] of Object.entries(providers)) {
    const block = raw as Block | undefined;
    const url = block?.options?.baseURL;
    out[id] =
      typeof url === "string" && block
        ? { ...block, options: { ...block.options, baseURL: pinLoopback(url) } }
        : raw;
  }
  return out;
}

export interface GeneratedConfig {
  opencode: Record<string, unknown>;
  /** Container variable ← host variable that `{env:…}` references in it need (model.apiKeyEnv). */
  envMap: Record<string, string>;
}

export function generatedOpencodeConfig(input: {
  model: ModelConfig | undefined;
  permission: PermissionPolicy;
  caller?: Record<string, unknown> | undefined;
}): GeneratedConfig {
  const model = input.model ? generateModelConfig(input.model) : undefined;
  const caller = input.caller ?? {};
  const providers = {
    ...(model?.opencode.provider ?? {}),
    ...((caller.provider as Record<string, unknown> | undefined) ?? {}),
  };
  const opencode: Record<string, unknown> = {
    $schema: OPENCODE_CONFIG_SCHEMA,
    ...(model?.opencode ?? {}),
    ...permissionConfigKey(input.permission),
    ...caller,
  };
  delete opencode.provider;
  if (Object.keys(providers).length > 0) opencode.provider = pinnedProviders(providers);
  return { opencode, envMap: model?.envMap ?? {} };
}
