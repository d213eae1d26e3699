import { describe, expect, it } from "vitest";
import { parseProjectConfig } from "../../src/config/parse.js";
import { projectSpec } from "../../src/project/spec.js";
import { stateLayout } from "../../src/util/state-layout.js";
import { authCopy, providersBehindGateways, providersInUse } from "../../src/sandbox/auth-copy.js";

const hostAuth = JSON.stringify({
  anthropic: { type: "api", key: "sk-ant-used" },
  openai: { type: "api", key: "sk-openai-gated" },
  google: { type: "oauth", refresh: "r", access: "a", expires: 1 },
});

describe("auth.json copy (host-boundary item 9)", () => {
  it("names the providers a config uses: model, small_model, agents' models, provider blocks", () => {
    expect(
      providersInUse([
        { model: "anthropic/claude", small_model: "local/fast", provider: { local: {} } },
        { agent: { plan: { model: "groq/llama" } }, model: "no-slash" },
        undefined,
      ]),
    ).toEqual(["anthropic", "groq", "local"]);
  });

  it("finds the providers whose base URL is a gateway port", () => {
    const configs = [
      {
        provider: {
          openai: { options: { baseURL: "http://127.0.0.1:9101/v1" } },
          local: { options: { baseURL: "http://localhost:8080/v1" } },
        },
      },
    ];
    expect(providersBehindGateways(configs, new Set([9101]))).toEqual(["openai"]);
  });

  it("copies only the named providers, and no entry holding a gateway key by any name", () => {
    const copy = authCopy(hostAuth, "/h/auth.json", ["anthropic", "openai"], ["sk-openai-gated"]);
    expect(JSON.parse(copy.text)).toEqual({ anthropic: { type: "api", key: "sk-ant-used" } });
    expect(copy.copied).toEqual(["anthropic"]);
    expect(copy.left).toEqual([
      { provider: "openai", why: "gateway" },
      { provider: "google", why: "unused" },
    ]);
    expect(authCopy("{}", "/h/auth.json", ["x"], []).text).toBe("{}");
  });

  it("a broken host file is a CONFIG error naming it", () => {
    expect(() => authCopy("{nope", "/h/auth.json", [], [])).toThrow(/\/h\/auth\.json is not valid JSON/);
    expect(() => authCopy("[1]", "/h/auth.json", [], [])).toThrow(/not a JSON object/);
  });

  it("`up`'s plan names the used providers and leaves out the gatewayed one", () => {
    const config = parseProjectConfig(
      [
        "egress:",
        "  gateways:",
        "    - upstream: https://api.openai.com",
        "      port: 9101",
        "      keyEnv: HOST_OPENAI",
        "",
      ].join("\n"),
      "ocbox.yaml",
    );
    const { spec } = projectSpec({
      project: { root: "/p", file: "/p/ocbox.yaml", config, name: "myapp", sandboxId: "app-1" },
      hostEnv: { HOST_OPENAI: "sk-openai-gated" },
      images: { sandbox: "s", egress: "e" },
      state: stateLayout("app-1", { XDG_STATE_HOME: "/st" }),
      password: "pw",
      agentUser: { uid: 1000, gid: 1000 },
      hostUser: { uid: 1000, gid: 1000 },
      runId: "r1",
      lifetime: "detached",
      authFile: "/h/auth.json",
      opencodeJson: {
        file: "/p/opencode.json",
        config: {
          model: "anthropic/claude-sonnet-4-5",
          provider: { openai: { options: { baseURL: "http://127.0.0.1:9101/v1" } } },
        },
      },
    });
    expect(spec.authProviders).toEqual(["anthropic"]);
  });
});
