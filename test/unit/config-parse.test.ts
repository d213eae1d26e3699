import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { didYouMean, editDistance } from "../../src/config/did-you-mean.js";
import { cpusToNanoCpus, parseMemory } from "../../src/config/limits.js";
import { resolveLimits } from "../../src/plan/limits.js";
import { findProjectRoot, loadProjectConfig, requireProjectRoot } from "../../src/config/load.js";
import { parseProjectConfig } from "../../src/config/parse.js";
import { DEFAULT_HOOK_PATH, defaultProjectConfig } from "../../src/config/project-schema.js";
import { sandboxIdFor, sandboxNameFromFolder } from "../../src/config/sandbox-id.js";
import { DEFAULT_LIMITS } from "../../src/sandbox/spec.js";
import { looksLikeSecret } from "../../src/config/checks.js";
import { OcboxError } from "../../src/errors.js";

const FULL = `# yaml-language-server: $schema=../schema/ocbox.schema.json
name: my-project
egress:
  allow:
    - .github.com          # the domain and its subdomains
    - api.anthropic.com    # exactly this host
    - registry.npmjs.org
  hostPorts: [5432, 6379]
ports:
  server: 4100
env:
  passthroughPrefixes: [MY_PROVIDER_]
  map:
    GH_TOKEN: MY_PROJECT_GH_TOKEN
    AWS_ACCESS_KEY_ID: AWS_ACCESS_KEY_ID
  set:
    GITHUB_REPOSITORY: my-org/my-repo
    FEATURE_FLAG: true
    RETRIES: 3
image:
  base: debian:bookworm-slim
  packages: [ripgrep, postgresql-client, g++, "python3=3.11.2-1"]
limits:
  memory: 1.5g
  cpus: 0.5
  pids: 512
  nofile: 8192
model:
  baseURL: http://127.0.0.1:8080
  apiKeyEnv: LOCAL_LLM_KEY
  models:
    fast: { id: qwen3-8b, context: 32768, output: 4096 }
    thinking: { id: qwen3-32b, context: 65536 }
  default: thinking
  small: fast
hook:
  preStart: scripts/refresh-creds.sh
autonomous: true
`;

describe("parseProjectConfig", () => {
  it("gives every default for an empty file, a comment-only file and empty sections", () => {
    const defaults = defaultProjectConfig();
    expect(parseProjectConfig("", "ocbox.yaml")).toEqual(defaults);
    expect(parseProjectConfig("# nothing yet\n", "ocbox.yaml")).toEqual(defaults);
    expect(parseProjectConfig("egress:\n  # allow: []\nenv:\nlimits:\n", "ocbox.yaml")).toEqual(defaults);
    expect(defaults).toEqual({
      egress: { allow: [], hostPorts: [] },
      ports: {},
      workspace: { mode: "auto" },
      env: { passthroughPrefixes: [], map: {}, set: {} },
      image: { packages: [] },
      limits: {},
      hardening: { readOnlyRoot: true, noNewPrivileges: true, seccomp: "ocbox", capAdd: [], icmp: false },
      apt: { allow: [] },
      hook: { preStart: DEFAULT_HOOK_PATH },
      monitors: {
        listeners: { enabled: false, expected: [], intervalS: 15 },
        resources: { enabled: false, intervalS: 30 },
        summary: { enabled: false, intervalS: 3600 },
      },
      autonomous: false,
    });
  });

  it("reads a full config", () => {
    const config = parseProjectConfig(FULL, "ocbox.yaml");
    expect(config.name).toBe("my-project");
    expect(config.egress).toEqual({
      allow: [".github.com", "api.anthropic.com", "registry.npmjs.org"],
      hostPorts: [5432, 6379],
    });
    expect(config.ports.server).toBe(4100);
    expect(config.env.map).toEqual({
      GH_TOKEN: "MY_PROJECT_GH_TOKEN",
      AWS_ACCESS_KEY_ID: "AWS_ACCESS_KEY_ID",
    });
    expect(config.env.set).toEqual({ GITHUB_REPOSITORY: "my-org/my-repo", FEATURE_FLAG: true, RETRIES: 3 });
    expect(config.image.packages).toContain("g++");
    expect(config.limits).toEqual({ memory: "1.5g", cpus: 0.5, pids: 512, nofile: 8192 });
    expect(config.model?.provider).toBe("local");
    expect(config.model?.models["thinking"]).toEqual({ id: "qwen3-32b", context: 65536 });
    expect(config.hook.preStart).toBe("scripts/refresh-creds.sh");
    expect(config.autonomous).toBe(true);
  });

  it("keeps inline comments out of values (the seed scripts' bug)", () => {
    const config = parseProjectConfig("egress:\n  allow:\n    - .github.com # GitHub\n", "ocbox.yaml");
    expect(config.egress.allow).toEqual([".github.com"]);
  });

  it("accepts anchors and aliases, refuses alias bombs", () => {
    const ok = parseProjectConfig(
      "egress:\n  allow: &hosts [.github.com]\nimage:\n  packages: [git]\n",
      "ocbox.yaml",
    );
    expect(ok.egress.allow).toEqual([".github.com"]);
    const a = "&a [x, x, x, x, x, x, x, x, x, x]";
    const b = `&b [${Array(10).fill("*a").join(", ")}]`;
    const bomb = `egress:\n  allow: [${a}, ${b}, [${Array(20).fill("*b").join(", ")}]]\n`;
    expect(() => parseProjectConfig(bomb, "ocbox.yaml")).toThrow(/YAML: .*alias/i);
  });

  it("refuses secrets and credentials where a name is expected", () => {
    const cases = [
      "model:\n  baseURL: http://user:hunter2hunter2@llm.local/v1\n  models: { a: {} }\n",
      "env:\n  set:\n    OPENAI_API_KEY: sk-proj-abcdefghijklmnop1234567890\n",
      "env:\n  map:\n    OPENAI_API_KEY: sk-proj-abcdefghijklmnop1234567890\n",
    ];
    for (const text of cases) {
      const error = (() => {
        try {
          parseProjectConfig(text, "ocbox.yaml");
        } catch (e) {
          return e as OcboxError;
        }
        throw new Error("no error");
      })();
      expect(error.code).toBe("CONFIG");
      expect(error.message).not.toMatch(/hunter2|abcdefghijklmnop/);
    }
  });

  it("refuses hook paths outside the project and egress entries that open too much", () => {
    expect(() => parseProjectConfig("hook: { preStart: ../../etc/profile }", "f")).toThrow(
      /leaves the project folder/,
    );
    expect(() => parseProjectConfig("hook: { preStart: /etc/profile }", "f")).toThrow(
      /not relative to the project/,
    );
    expect(() => parseProjectConfig("egress: { allow: [10.0.0.1] }", "f")).toThrow(/is an IP address/);
    expect(() => parseProjectConfig("egress: { allow: [github.com:443] }", "f")).toThrow(/has a port/);
    expect(() => parseProjectConfig("egress: { allow: [https://github.com/x] }", "f")).toThrow(
      /write just the host: github.com/,
    );
    expect(() => parseProjectConfig("egress: { allow: [GitHub.com] }", "f")).toThrow(/"github.com"/);
    expect(() => parseProjectConfig("egress: { allow: [localhost] }", "f")).toThrow(/egress.hostPorts/);
  });

  it("points a key in the wrong place to where it belongs", () => {
    expect(() => parseProjectConfig("allow: [.github.com]\n", "f")).toThrow(/did you mean "egress.allow"/);
    expect(() => parseProjectConfig("model:\n  apiKey: X\n", "f")).toThrow(/did you mean "model.apiKeyEnv"/);
  });

  it("names a removed key (executor.warmPool) with the file, line and what to do", () => {
    let error: unknown;
    try {
      parseProjectConfig("executor:\n  maxRetriesOnMalformedOutput: 1\n  warmPool: 2\n", "ocbox.yaml");
    } catch (e) {
      error = e;
    }
    const text = `${String(error)} ${(error as { fix?: string }).fix ?? ""} ${(error as { detail?: string }).detail ?? ""}`;
    expect(text).toMatch(/ocbox\.yaml:3/);
    expect(text).toMatch(/executor\.warmPool/);
    expect(text).toMatch(/no longer a key/);
    expect(text).toMatch(/delete the line/);
  });
});

describe("did you mean", () => {
  it("measures swaps as one edit", () => {
    expect(editDistance("hostPorst", "hostPorts")).toBe(1);
    expect(editDistance("", "abc")).toBe(3);
    expect(editDistance("kitten", "sitting")).toBe(3);
  });
  it("suggests near misses, other spellings and prefixes, not unrelated words", () => {
    expect(didYouMean("egres", ["egress", "env", "image"])).toBe("egress");
    expect(didYouMean("host_ports", ["allow", "hostPorts"])).toBe("hostPorts");
    expect(didYouMean("apiKey", ["provider", "apiKeyEnv", "baseURL"])).toBe("apiKeyEnv");
    expect(didYouMean("monitors", ["egress", "env", "image", "limits"])).toBeUndefined();
  });
});

describe("sandbox identity", () => {
  it("is the name plus 8 hex digits of the path's sha256", () => {
    const id = sandboxIdFor("app", "/home/me/app");
    expect(id).toMatch(/^app-[0-9a-f]{8}$/);
    expect(sandboxIdFor("app", "/home/me/app")).toBe(id);
    expect(sandboxIdFor("app", "/home/me/other/app")).not.toBe(id);
  });
  it("derives a valid name from any folder name", () => {
    expect(sandboxNameFromFolder("My Project_v2")).toBe("my-project-v2");
    expect(sandboxNameFromFolder("--x--")).toBe("x");
    expect(sandboxNameFromFolder("日本")).toBe("project");
    expect(sandboxNameFromFolder("a".repeat(60))).toHaveLength(40);
  });
});

describe("limits", () => {
  it("parses memory sizes in binary units", () => {
    expect(parseMemory("512m")).toBe(512 * 1024 ** 2);
    expect(parseMemory("4g")).toBe(4 * 1024 ** 3);
    expect(parseMemory("1.5g")).toBe(1.5 * 1024 ** 3);
    expect(parseMemory("2GiB")).toBe(2 * 1024 ** 3);
    expect(parseMemory("300MB")).toBe(300 * 1024 ** 2);
    for (const bad of ["4 gigs", "4", "", "-1g", "g"]) expect(parseMemory(bad)).toBeUndefined();
  });
  it("merges the config over the defaults", () => {
    expect(resolveLimits({})).toEqual(DEFAULT_LIMITS);
    expect(resolveLimits({ memory: "512m", cpus: 1.5 })).toEqual({
      ...DEFAULT_LIMITS,
      memoryBytes: 512 * 1024 ** 2,
      nanoCpus: 1.5e9,
    });
    expect(cpusToNanoCpus(0.25)).toBe(250_000_000);
  });
});

describe("loading from disk", () => {
  let base = "";
  beforeAll(async () => {
    base = await mkdtemp(join(tmpdir(), "ocbox-config-"));
    await mkdir(join(base, "My App", "src", "deep"), { recursive: true });
    await writeFile(join(base, "My App", "ocbox.yaml"), "egress:\n  allow: [.github.com]\n");
    await mkdir(join(base, "bare", ".git"), { recursive: true });
    await symlink(join(base, "My App"), join(base, "link"));
  });
  afterAll(async () => {
    await rm(base, { recursive: true, force: true });
  });

  it("finds the root from a subfolder and loads it with a derived name", async () => {
    const root = await findProjectRoot(join(base, "My App", "src", "deep"));
    expect(root).toBe(join(base, "My App"));
    const project = await loadProjectConfig(root ?? "");
    expect(project.name).toBe("my-app");
    expect(project.sandboxId).toBe(sandboxIdFor("my-app", project.root));
    expect(project.config.egress.allow).toEqual([".github.com"]);
  });

  it("gives one id through a symlink", async () => {
    const direct = await loadProjectConfig(join(base, "My App"));
    const linked = await loadProjectConfig(join(base, "link"));
    expect(linked.sandboxId).toBe(direct.sandboxId);
  });

  it("does not take a .git folder for a project", async () => {
    const inside = join(base, "bare");
    const found = await findProjectRoot(inside);
    expect(found === undefined || !found.startsWith(base)).toBe(true);
    const error = await loadProjectConfig(inside).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(OcboxError);
    expect((error as OcboxError).code).toBe("CONFIG");
    expect((error as OcboxError).fix).toContain("ocbox init");
  });

  it("explains a missing project", async () => {
    const root = await findProjectRoot("/");
    if (root === undefined) await expect(requireProjectRoot("/")).rejects.toThrow(/no ocbox.yaml/);
  });
});

describe("secret detection", () => {
  it("flags key-like tokens, not ordinary values", () => {
    expect(looksLikeSecret("sk-proj-abcdefghijklmnop1234567890")).toBe(true);
    expect(looksLikeSecret("ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ012345")).toBe(true);
    expect(looksLikeSecret("Zq8xY2mN4bV6cX1aS3dF5gH7jK9lP0oI")).toBe(true);
    for (const plain of [
      "my-org/my-repository-name-2024",
      "MY_PROVIDER_API_KEY_2",
      "dummy",
      "none",
      "http://127.0.0.1:8080/v1",
    ]) {
      expect(looksLikeSecret(plain), plain).toBe(false);
    }
  });
});
