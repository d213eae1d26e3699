import { describe, expect, it } from "vitest";
import { parseProjectConfig } from "../../src/config/parse.js";
import type { ModelConfig } from "../../src/config/project-schema.js";
import { DUMMY_API_KEY, generateModelConfig, normaliseBaseURL } from "../../src/config/provider.js";

function modelFrom(yaml: string): ModelConfig {
  const model = parseProjectConfig(yaml, "ocbox.yaml").model;
  if (model === undefined) throw new Error("no model block");
  return model;
}

describe("generateModelConfig", () => {
  it("defines an OpenAI-compatible provider with aliases, limits, model and small_model", () => {
    const model = modelFrom(`model:
  provider: llama
  baseURL: http://127.0.0.1:8080
  models:
    fast: { id: qwen3-8b, context: 32768, output: 4096 }
    thinking: { id: qwen3-32b, name: Qwen3 32B thinking, context: 65536 }
  default: thinking
  small: fast
`);
    expect(generateModelConfig(model)).toEqual({
      opencode: {
        provider: {
          llama: {
            npm: "@ai-sdk/openai-compatible",
            name: "llama",
            options: { baseURL: "http://127.0.0.1:8080/v1", apiKey: DUMMY_API_KEY },
            models: {
              fast: { id: "qwen3-8b", name: "fast", limit: { context: 32768, output: 4096 } },
              thinking: {
                id: "qwen3-32b",
                name: "Qwen3 32B thinking",
                limit: { context: 65536, output: 8192 },
              },
            },
          },
        },
        model: "llama/thinking",
        small_model: "llama/fast",
      },
      envMap: {},
    });
  });

  it("refers to the key by {env:VAR} and asks for that variable, never holding the key", () => {
    const model = modelFrom(
      "model:\n  baseURL: https://llm.example.com/v1\n  apiKeyEnv: LLM_KEY\n  models: { big: {} }\n",
    );
    const generated = generateModelConfig(model);
    expect(generated.opencode.provider["local"]?.options).toEqual({
      baseURL: "https://llm.example.com/v1",
      apiKey: "{env:LLM_KEY}",
    });
    expect(generated.envMap).toEqual({ LLM_KEY: "LLM_KEY" });
    expect(generated.opencode.model).toBe("local/big");
    expect(generated.opencode.small_model).toBe("local/big");
    expect(generated.opencode.provider["local"]?.models).toEqual({ big: { name: "big" } });
  });

  it("selects models of a provider OpenCode knows, without a base URL", () => {
    const model = modelFrom(
      "model:\n  provider: anthropic\n  models: { sonnet: { id: claude-sonnet-4-5 } }\n",
    );
    expect(generateModelConfig(model).opencode).toEqual({
      provider: { anthropic: { models: { sonnet: { id: "claude-sonnet-4-5", name: "sonnet" } } } },
      model: "anthropic/sonnet",
      small_model: "anthropic/sonnet",
    });
  });

  it("normalises base URLs", () => {
    expect(normaliseBaseURL("http://h:8080")).toBe("http://h:8080/v1");
    expect(normaliseBaseURL("http://h:8080/")).toBe("http://h:8080/v1");
    expect(normaliseBaseURL("http://h/api/v1/")).toBe("http://h/api/v1");
  });

  it("validates the model block", () => {
    expect(() => modelFrom("model:\n  baseURL: http://h/v1\n")).toThrow(
      /model.models: names no model for baseURL/,
    );
    expect(() => modelFrom("model:\n  models: { a: { output: 10 } }\n")).toThrow(
      /output: is given without context/,
    );
    expect(() => modelFrom("model:\n  models: { a: { context: 10, output: 20 } }\n")).toThrow(
      /larger than context/,
    );
    expect(() => modelFrom("model:\n  models: { a/b: {} }\n")).toThrow(/model.models.a\/b: key is not valid/);
    expect(() => modelFrom("model:\n  models: { fast: {} }\n  small: fats\n")).toThrow(/did you mean "fast"/);
  });
});
