import { describe, expect, it } from "vitest";
import {
  DEFAULT_ENV_PREFIXES,
  parsePrefixList,
  projectEnvRules,
  resolveEnv,
  reservedEnvReason,
} from "../../src/config/env-rules.js";
import { OcboxError } from "../../src/errors.js";

const hostEnv = {
  PATH: "/usr/bin",
  HOME: "/home/me",
  GITHUB_TOKEN: "ghp_secret",
  OPENAI_API_KEY: "sk-openai",
  ANTHROPIC_API_KEY: "",
  OPENCODE_SERVER_LOG_LEVEL: "DEBUG",
  OPENCODE_SERVER_PASSWORD: "host-password",
  CLOUDFLARE_API_TOKEN: "cf",
  AWS_SECRET_ACCESS_KEY: "aws",
  MY_PROVIDER_KEY: "mine",
  MY_PROJECT_GH_TOKEN: "gh",
  DOCKER_HOST: "unix:///var/run/docker.sock",
  LD_PRELOAD: "/evil.so",
  UNSET_LATER: undefined,
};

describe("resolveEnv", () => {
  it("passes set, non-empty variables matching the default prefixes, and nothing else", () => {
    const r = resolveEnv({ hostEnv });
    expect(r.env).toEqual({
      OPENAI_API_KEY: "sk-openai",
      OPENCODE_SERVER_LOG_LEVEL: "DEBUG",
      CLOUDFLARE_API_TOKEN: "cf",
    });
    expect(r.passed).toEqual(["CLOUDFLARE_API_TOKEN", "OPENAI_API_KEY", "OPENCODE_SERVER_LOG_LEVEL"]);
    expect(r.skipped.map((s) => [s.name, s.code])).toEqual([
      ["ANTHROPIC_API_KEY", "empty"],
      ["OPENCODE_SERVER_PASSWORD", "reserved"],
    ]);
    expect(r.skipped[0]?.reason).toBe("empty on the host (matched ANTHROPIC_)");
  });

  it("never lists values, only names", () => {
    const r = resolveEnv({ hostEnv, map: { GH_TOKEN: "MY_PROJECT_GH_TOKEN", X: "NOPE" } });
    const listed = JSON.stringify({ passed: r.passed, skipped: r.skipped });
    for (const value of Object.values(hostEnv)) if (value) expect(listed).not.toContain(value);
  });

  it("adds extra prefixes, and maps and sets explicitly, later rules winning", () => {
    const r = resolveEnv({
      hostEnv,
      extraPrefixes: ["MY_PROVIDER_"],
      map: {
        GH_TOKEN: "MY_PROJECT_GH_TOKEN",
        OPENAI_API_KEY: "MY_PROVIDER_KEY",
        MISSING: "NOT_ON_HOST",
        BLANK: "ANTHROPIC_API_KEY",
      },
      set: { REPO: "org/repo", DEBUG: true, RETRIES: 3, OPENCODE_SERVER_LOG_LEVEL: "WARN" },
    });
    expect(r.env).toMatchObject({
      MY_PROVIDER_KEY: "mine",
      GH_TOKEN: "gh",
      OPENAI_API_KEY: "mine",
      REPO: "org/repo",
      DEBUG: "true",
      RETRIES: "3",
      OPENCODE_SERVER_LOG_LEVEL: "WARN",
    });
    expect(r.skipped).toContainEqual({
      name: "MISSING",
      code: "unset",
      reason: "host variable NOT_ON_HOST is not set",
    });
    expect(r.skipped).toContainEqual({
      name: "BLANK",
      code: "empty",
      reason: "host variable ANTHROPIC_API_KEY is empty",
    });
  });

  it("never passes dangerous names, whatever the rule", () => {
    const r = resolveEnv({
      hostEnv,
      extraPrefixes: ["LD_", "DOCKER_", "PA", "HO"],
      map: { PATH: "PATH", SSH_AUTH_SOCK: "HOME", OK_NAME: "OPENCODE_SERVER_PASSWORD" },
      set: { LD_LIBRARY_PATH: "/x", OCBOX_FORWARD_PORTS: "22", https_proxy: "http://evil" },
    });
    for (const name of [
      "PATH",
      "HOME",
      "LD_PRELOAD",
      "LD_LIBRARY_PATH",
      "DOCKER_HOST",
      "SSH_AUTH_SOCK",
      "OK_NAME",
      "OCBOX_FORWARD_PORTS",
      "https_proxy",
    ]) {
      expect(r.env).not.toHaveProperty(name);
    }
    expect(r.skipped.map((s) => s.name)).toEqual(
      expect.arrayContaining(["PATH", "HOME", "LD_PRELOAD", "DOCKER_HOST", "OK_NAME"]),
    );
  });

  it("passes GITHUB_TOKEN and DOCKER_ settings only by explicit map", () => {
    const byPrefix = resolveEnv({ hostEnv, extraPrefixes: ["GITHUB_"] });
    expect(byPrefix.env).not.toHaveProperty("GITHUB_TOKEN");
    expect(byPrefix.skipped).toContainEqual(
      expect.objectContaining({ name: "GITHUB_TOKEN", code: "explicit-only" }),
    );
    expect(resolveEnv({ hostEnv, map: { GITHUB_TOKEN: "GITHUB_TOKEN" } }).env).toEqual(
      expect.objectContaining({ GITHUB_TOKEN: "ghp_secret" }),
    );
  });

  it("can replace the default prefixes", () => {
    expect(resolveEnv({ hostEnv, prefixes: [] }).env).toEqual({});
  });

  it("leaves AWS credentials out by default", () => {
    expect(DEFAULT_ENV_PREFIXES).not.toContain("AWS_");
    expect(resolveEnv({ hostEnv }).env).not.toHaveProperty("AWS_SECRET_ACCESS_KEY");
  });
});

describe("prefix lists and project rules", () => {
  it("parses OCBOX_EXTRA_ENV_PREFIXES", () => {
    expect(parsePrefixList("MY_PROVIDER_, CUSTOM_GATEWAY_,,")).toEqual(["MY_PROVIDER_", "CUSTOM_GATEWAY_"]);
    expect(parsePrefixList(undefined)).toEqual([]);
    expect(() => parsePrefixList("OK_,bad-prefix")).toThrow(OcboxError);
  });

  it("combines the variable and the config", () => {
    const rules = projectEnvRules(
      { passthroughPrefixes: ["CFG_"], map: { A: "B" }, set: { C: "d" } },
      { OCBOX_EXTRA_ENV_PREFIXES: "VAR_", VAR_X: "1", CFG_Y: "2", B: "3" },
    );
    expect(resolveEnv(rules).env).toEqual({ VAR_X: "1", CFG_Y: "2", A: "3", C: "d" });
  });

  it("explains reserved names", () => {
    expect(reservedEnvReason("LD_AUDIT")).toMatch(/loader/);
    expect(reservedEnvReason("HTTP_PROXY")).toMatch(/proxy/);
    expect(reservedEnvReason("OPENAI_API_KEY")).toBeUndefined();
  });
});
