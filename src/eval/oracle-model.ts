/**
 * `eval run --oracle` with no `--model`: the planner still wants a model it knows, so the run gets
 * a placeholder provider that is never called (solve.sh runs in the agent's place; OpenCode's
 * server starts but gets no prompt). Its URL is a closed port on the agent's own loopback. Pure.
 */
export const ORACLE_MODEL = "oracle/solve-sh";

export function withOracleModel(config: Record<string, unknown> | undefined): Record<string, unknown> {
  const providers = (config?.provider ?? {}) as Record<string, unknown>;
  return {
    ...(config ?? {}),
    provider: {
      ...providers,
      oracle: {
        npm: "@ai-sdk/openai-compatible",
        name: "Oracle (solution/solve.sh; never called)",
        options: { baseURL: "http://127.0.0.1:9/v1", apiKey: "none" },
        models: { "solve-sh": { name: "solve-sh" } },
      },
    },
  };
}
