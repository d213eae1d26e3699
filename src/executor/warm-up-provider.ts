/**
 * The warm pool's stub provider (issue 16). A fresh OpenCode server's first prompt costs 1.5-2.5 s
 * on 2 cores before the model sees a request (tool registry, agents, system prompt, the provider
 * SDK's load); a second prompt in the same instance costs 0.3-0.6 s. A warm sandbox therefore
 * sends one throwaway prompt before a task takes it, to a provider that never leaves the
 * container: its base URL is the OpenCode server's own loopback port, which answers 401 to a
 * request without the server's password, an error OpenCode does not retry. The stub loads the
 * same SDK package as the config's default model, so that package's load is paid too.
 */
import { SERVER_PORT } from "../image/dockerfile.js";

export const WARM_UP_PROVIDER = "ocbox-warmup";
export const WARM_UP_MODEL = "stub";
/** The SDK OpenCode uses when a provider entry names none and the default model is not ours to read. */
export const FALLBACK_SDK = "@ai-sdk/openai-compatible";

type Config = Record<string, unknown>;

const record = (v: unknown): Config | undefined =>
  typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Config) : undefined;

/** The SDK package of the config's default model's provider, when the config names one. */
export function defaultModelSdk(config: Config): string {
  const model = typeof config.model === "string" ? config.model : "";
  const providerId = model.includes("/") ? model.slice(0, model.indexOf("/")) : "";
  const npm = record(record(config.provider)?.[providerId])?.npm;
  return typeof npm === "string" && npm.length > 0 ? npm : FALLBACK_SDK;
}

/**
 * `config` with the stub provider added (its id is ocbox's own; a provider of that name in the
 * config is replaced). Nothing else changes: the task's default and small model stay.
 */
export function withWarmUpProvider(config: Config): Config {
  const providers = record(config.provider) ?? {};
  return {
    ...config,
    provider: {
      ...providers,
      [WARM_UP_PROVIDER]: {
        npm: defaultModelSdk(config),
        name: "ocbox warm-up (answers nothing)",
        options: {
          baseURL: `http://127.0.0.1:${SERVER_PORT}/ocbox-warmup`,
          apiKey: "none",
        },
        models: { [WARM_UP_MODEL]: { name: WARM_UP_MODEL } },
      },
    },
  };
}
