/**
 * The OpenCode config that points a sandbox at a scripted model server: one OpenAI-compatible
 * provider named `scripted`, used for the main and the small model, every permission allowed.
 */
export const SCRIPTED_PROVIDER = "scripted";

export function scriptedOpencodeConfig(
  baseURL: string,
  modelIds: readonly string[] = ["scripted"],
): Record<string, unknown> {
  const first = modelIds[0] ?? "scripted";
  return {
    $schema: "https://opencode.ai/config.json",
    model: `${SCRIPTED_PROVIDER}/${first}`,
    small_model: `${SCRIPTED_PROVIDER}/${first}`,
    permission: { "*": "allow" },
    provider: {
      [SCRIPTED_PROVIDER]: {
        npm: "@ai-sdk/openai-compatible",
        name: "Scripted model",
        options: { baseURL, apiKey: "scripted-no-key" },
        models: Object.fromEntries(modelIds.map((id) => [id, { name: id }])),
      },
    },
  };
}
