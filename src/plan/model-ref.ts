/**
 * Model references and endpoints. Pure: which provider/model a task uses, which host loopback
 * ports its providers need forwarded into the sandbox, and the endpoint to report (E13).
 */
import { OcboxError } from "../errors.js";

export interface ModelRef {
  providerID: string;
  modelID: string;
}

/** "provider/model" (the model id may itself contain slashes, e.g. openrouter/meta/llama). */
export function parseModelRef(ref: string, where = "--model"): ModelRef {
  const slash = ref.indexOf("/");
  if (slash <= 0 || slash === ref.length - 1) {
    throw new OcboxError("USAGE", `${where}: "${ref}" is not a model reference`, {
      fix: 'Write it as provider/model, for example "openai/gpt-4.1" or "local/qwen".',
    });
  }
  return { providerID: ref.slice(0, slash), modelID: ref.slice(slash + 1) };
}

export const formatModelRef = (m: ModelRef) => `${m.providerID}/${m.modelID}`;

type Providers = Record<string, { options?: { baseURL?: unknown } } | undefined>;

function providersOf(config: Record<string, unknown> | undefined): Providers {
  const p = config?.provider;
  return typeof p === "object" && p !== null ? (p as Providers) : {};
}

/** The base URL configured for a provider, merging configs in load order (later wins). */
export function providerBaseURL(
  providerID: string,
  ...configs: Array<Record<string, unknown> | undefined>
): string | null {
  let url: string | null = null;
  for (const c of configs) {
    const candidate = providersOf(c)[providerID]?.options?.baseURL;
    if (typeof candidate === "string") url = candidate;
  }
  return url;
}

/** The default model a config names (`model: "provider/model"`), if any. */
export function configuredModel(
  ...configs: Array<Record<string, unknown> | undefined>
): ModelRef | undefined {
  let ref: string | undefined;
  for (const c of configs) if (typeof c?.model === "string") ref = c.model;
  return ref ? parseModelRef(ref, "model in the OpenCode config") : undefined;
}

/**
 * Host loopback ports named by provider base URLs: `http://127.0.0.1:PORT/v1` and
 * `http://localhost:PORT/v1` work unchanged inside the sandbox because ocbox forwards them.
 */
export function loopbackPorts(...configs: Array<Record<string, unknown> | undefined>): number[] {
  const ports = new Set<number>();
  for (const c of configs) {
    for (const provider of Object.values(providersOf(c))) {
      const raw = provider?.options?.baseURL;
      if (typeof raw !== "string") continue;
      let url: URL;
      try {
        url = new URL(raw);
      } catch {
        continue;
      }
      const host = url.hostname.replace(/^\[|\]$/g, "");
      if (!["127.0.0.1", "localhost", "::1"].includes(host)) continue;
      const port = Number(url.port || (url.protocol === "https:" ? 443 : 80));
      if (Number.isInteger(port) && port > 0) ports.add(port);
    }
  }
  return [...ports].sort((a, b) => a - b);
}
