import { describe, expect, it } from "vitest";
import {
  defaultModelSdk,
  FALLBACK_SDK,
  WARM_UP_MODEL,
  WARM_UP_PROVIDER,
  withWarmUpProvider,
} from "../../src/executor/warm-up-provider.js";

const config = {
  model: "corp/big",
  small_model: "corp/small",
  provider: {
    corp: { npm: "@ai-sdk/anthropic", options: { baseURL: "https://llm.example" }, models: { big: {} } },
  },
};

describe("the warm pool's stub provider", () => {
  it("loads the SDK package of the config's default model, or the OpenAI-compatible one", () => {
    expect(defaultModelSdk(config)).toBe("@ai-sdk/anthropic");
    expect(defaultModelSdk({ model: "anthropic/claude" })).toBe(FALLBACK_SDK);
    expect(defaultModelSdk({})).toBe(FALLBACK_SDK);
    expect(defaultModelSdk({ model: "corp/big", provider: { corp: { npm: 7 } } })).toBe(FALLBACK_SDK);
  });

  it("adds one provider on the server's own loopback port and changes nothing else", () => {
    const out = withWarmUpProvider(config);
    expect(out.model).toBe("corp/big");
    expect(out.small_model).toBe("corp/small");
    const providers = out.provider as Record<string, Record<string, unknown>>;
    expect(providers.corp).toEqual(config.provider.corp);
    expect(providers[WARM_UP_PROVIDER]).toMatchObject({
      npm: "@ai-sdk/anthropic",
      options: { baseURL: "http://127.0.0.1:4096/ocbox-warmup" },
      models: { [WARM_UP_MODEL]: {} },
    });
    // The input is not changed.
    expect(Object.keys(config.provider)).toEqual(["corp"]);
  });
});
