import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { findOpencodeBinary } from "../../src/image/opencode-binary.js";
import {
  egressGaps,
  egressGapWarnings,
  providersNeeded,
  type GapInput,
  type ProviderCatalogue,
} from "../../src/plan/egress-gaps.js";
import { catalogueCacheFile, readProviderCatalogue } from "../../src/opencode/provider-catalogue.js";
import { parseCatalogue, parseEntry, SDK_DEFAULT_HOSTS } from "../../src/opencode/provider-catalogue-text.js";

const catalogue: ProviderCatalogue = {
  anthropic: { env: ["ANTHROPIC_API_KEY"], npm: "@ai-sdk/anthropic", host: "api.anthropic.com" },
  openai: { env: ["OPENAI_API_KEY"], npm: "@ai-sdk/openai", host: "api.openai.com" },
  openrouter: { env: ["OPENROUTER_API_KEY"], npm: "@openrouter/ai-sdk-provider", host: "openrouter.ai" },
  lmstudio: { env: ["LMSTUDIO_API_KEY"], npm: "@ai-sdk/openai-compatible", host: "127.0.0.1" },
  azure: { env: ["AZURE_RESOURCE_NAME", "AZURE_API_KEY"], npm: "@ai-sdk/azure" },
};

const base = (over: Partial<GapInput> = {}): GapInput => ({
  configs: [],
  passedEnv: [],
  catalogue,
  egress: { allow: [] },
  ...over,
});

describe("egress gaps (issue 18 item 4)", () => {
  it("the model init suggests, with its key passed: api.anthropic.com is denied, with the line to add", () => {
    const gaps = egressGaps(
      base({ configs: [{ model: "anthropic/claude-sonnet-4-5" }], passedEnv: ["ANTHROPIC_API_KEY"] }),
    );
    expect(gaps).toEqual([
      {
        provider: "anthropic",
        host: "api.anthropic.com",
        why: "named in the OpenCode config",
        allowLine: "- api.anthropic.com",
        keyEnv: "ANTHROPIC_API_KEY",
      },
    ]);
    expect(egressGapWarnings(gaps)).toEqual([
      "WARNING egress: provider anthropic (named in the OpenCode config) calls api.anthropic.com, which the " +
        "proxy denies: add `- api.anthropic.com` under egress.allow in ocbox.yaml, or keep its key on the " +
        "host behind a model gateway (egress.gateways)",
    ]);
  });

  it("an allowed host (exact or by domain) is no gap", () => {
    const configs = [{ model: "anthropic/claude-sonnet-4-5" }];
    expect(egressGaps(base({ configs, egress: { allow: ["api.anthropic.com"] } }))).toEqual([]);
    expect(egressGaps(base({ configs, egress: { allow: [".anthropic.com"] } }))).toEqual([]);
  });

  it("providers come from the configs, the task's model, auth.json and the keys passed in", () => {
    const needed = providersNeeded(
      base({
        configs: [{ small_model: "openai/gpt-4.1-mini" }],
        model: { providerID: "openrouter", modelID: "meta/llama" },
        authProviders: ["anthropic"],
        passedEnv: ["AZURE_API_KEY", "HOME"],
      }),
    );
    expect(Object.fromEntries(needed)).toEqual({
      openrouter: "the task's model openrouter/meta/llama",
      openai: "named in the OpenCode config",
      anthropic: "its key is in auth.json",
      azure: "AZURE_API_KEY is passed in",
    });
  });

  it("a baseURL wins over the catalogue; loopback and unknown hosts are no gap", () => {
    const configs = [
      {
        model: "anthropic/x",
        provider: { anthropic: { options: { baseURL: "https://llm.corp.example/v1" } } },
      },
    ];
    expect(egressGaps(base({ configs })).map((g) => g.host)).toEqual(["llm.corp.example"]);
    const local = [{ provider: { local: { options: { baseURL: "http://127.0.0.1:8080/v1" } } } }];
    expect(egressGaps(base({ configs: local }))).toEqual([]);
    expect(egressGaps(base({ passedEnv: ["LMSTUDIO_API_KEY", "AZURE_API_KEY"] }))).toEqual([]);
  });

  it("restricted mode: only a gateway helps; a gateway to the host: point the provider at it", () => {
    const configs = [{ model: "openai/gpt-4.1" }];
    const restricted = egressGaps(base({ configs, egress: { allow: ["api.openai.com"], restricted: true } }));
    expect(restricted).toEqual([
      {
        provider: "openai",
        host: "api.openai.com",
        why: "named in the OpenCode config",
        keyEnv: "OPENAI_API_KEY",
      },
    ]);
    expect(egressGapWarnings(restricted)[0]).toContain("(restricted mode): add a model gateway");
    const gated = egressGaps(
      base({
        configs,
        egress: { allow: [], gateways: [{ agentPort: 9101, upstream: "https://api.openai.com" }] },
      }),
    );
    expect(egressGapWarnings(gated)[0]).toContain(
      "point provider.openai.options.baseURL at http://127.0.0.1:9101/v1",
    );
  });
});

describe("the provider catalogue of the pinned OpenCode", () => {
  it("parses a minified entry, with and without an api URL", () => {
    expect(
      parseEntry(
        '{id:"deepseek",env:["DEEPSEEK_API_KEY"],npm:"@ai-sdk/openai-compatible",api:"https://api.deepseek.com",name:"DeepSeek"',
      ),
    ).toEqual([
      "deepseek",
      { env: ["DEEPSEEK_API_KEY"], npm: "@ai-sdk/openai-compatible", host: "api.deepseek.com" },
    ]);
    expect(
      parseEntry('{id:"anthropic",env:["ANTHROPIC_API_KEY"],npm:"@ai-sdk/anthropic",name:"Anthropic"')?.[1],
    ).toEqual({
      env: ["ANTHROPIC_API_KEY"],
      npm: "@ai-sdk/anthropic",
      host: "api.anthropic.com",
    });
    expect(parseEntry('{id:"claude-haiku-4-5",name:"Claude"')).toBeUndefined();
    const bytes = Buffer.from(
      'x={a:{id:"a",env:[],npm:"p",api:"https://a.example/v1",name:"A"},b:{id:"b",env:["B_KEY"],npm:"q",name:"B"}}',
    );
    expect(parseCatalogue(bytes)).toEqual({
      a: { env: [], npm: "p", host: "a.example" },
      b: { env: ["B_KEY"], npm: "q" },
    });
  });

  it("reads the real binary once and then the cache; every SDK default host is still in the binary", async () => {
    const binary = findOpencodeBinary(process.arch);
    const cache = await mkdtemp(join(tmpdir(), "ocbox-catalogue-"));
    try {
      const env = { XDG_CACHE_HOME: cache };
      const first = await readProviderCatalogue(binary, env);
      expect(first.anthropic).toEqual({
        env: ["ANTHROPIC_API_KEY"],
        npm: "@ai-sdk/anthropic",
        host: "api.anthropic.com",
      });
      expect(first.openrouter?.host).toBe("openrouter.ai");
      expect(Object.keys(first).length).toBeGreaterThan(100);
      const t = performance.now();
      expect(await readProviderCatalogue(binary, env)).toEqual(first);
      expect(performance.now() - t).toBeLessThan(500);
      expect(readFileSync(catalogueCacheFile(binary.version, env), "utf8")).toContain('"anthropic"');
      const text = readFileSync(binary.path).toString("latin1");
      for (const host of Object.values(SDK_DEFAULT_HOSTS)) expect(text, host).toContain(`https://${host}`);
    } finally {
      await rm(cache, { recursive: true, force: true });
    }
  }, 120_000);
});
