/**
 * The one planner (src/plan/): the same project gives the same sandbox for every entry point,
 * apart from the differences named below on purpose; and the planner's own decisions. No Docker.
 */
import { describe, expect, it } from "vitest";
import { parseProjectConfig } from "../../src/config/parse.js";
import { OcboxError } from "../../src/errors.js";
import { ENTRY_POINTS, isUnattended, type EntryPoint } from "../../src/plan/entry-point.js";
import { plan, planSandbox, planTaskPart, type PlanInput } from "../../src/plan/plan.js";
import { planView } from "../../src/plan/plan-view.js";
import { sandboxSpec } from "../../src/plan/sandbox-profile.js";
import { cacheIdentity, cacheVolumes } from "../../src/sandbox/cache-volumes.js";
import type { SandboxSpec } from "../../src/sandbox/spec.js";

const YAML = `name: myapp
model:
  provider: local
  baseURL: http://localhost:8080
  apiKeyEnv: LLM_KEY
  models: { qwen: { context: 32768 } }
env:
  map: { LLM_KEY: TEAM_LLM_KEY, GH: GITHUB_TOKEN }
egress:
  allow: [registry.npmjs.org]
  hostPorts: [5432]
  gateways:
    - { port: 9100, upstream: "https://api.example.com", keyEnv: GATEWAY_KEY }
volumes: [node_modules]
apt:
  allow: [jq]
roles:
  reviewer:
    model: local/qwen
    systemPromptFile: reviewer.md
    pool: gpu
    timeouts: { hardS: 60 }
pools:
  gpu: { maxConcurrent: 1 }
executor:
  timeouts: { hardS: 300, inactivityS: 100 }
  rateLimitPatterns: ["slow down"]
`;

const HOST_ENV = {
  LLM_KEY: "generated-mapping-value",
  TEAM_LLM_KEY: "explicit-map-value",
  OPENAI_API_KEY: "sk-openai-secret",
  GITHUB_TOKEN: "ghp-secret",
  GATEWAY_KEY: "gw-secret-value-123",
  OPENCODE_PERMISSION: '{"*":"ask"}',
  HOME: "/home/me",
};

const WORKSPACE_OPENCODE = {
  file: "/p/opencode.json",
  config: {
    permission: { bash: "ask", custom_tool: "deny" },
    provider: { other: { options: { baseURL: "http://127.0.0.1:9000/v1" } } },
  },
};

/** A small stand-in for the pinned OpenCode's catalogue (opencode/provider-catalogue.ts). */
const CATALOGUE = {
  anthropic: { env: ["ANTHROPIC_API_KEY"], npm: "@ai-sdk/anthropic", host: "api.anthropic.com" },
  openai: { env: ["OPENAI_API_KEY"], npm: "@ai-sdk/openai", host: "api.openai.com" },
  groq: { env: ["GROQ_API_KEY"], npm: "@ai-sdk/groq", host: "api.groq.com" },
};

const USERS = { host: { uid: 1000, gid: 1000 }, agent: { uid: 1000, gid: 1000 } };
const PROJECT = { root: "/p", sandboxId: "app-1234" };

function input(entry: EntryPoint, overrides: Partial<PlanInput> = {}): PlanInput {
  return {
    entry,
    config: parseProjectConfig(YAML, "ocbox.yaml"),
    project: PROJECT,
    workspaceOpencode: WORKSPACE_OPENCODE,
    hostEnv: HOST_ENV,
    options: {},
    images: { sandbox: "ocbox/sandbox:x", egress: "ocbox/egress:y" },
    users: USERS,
    providers: { catalogue: CATALOGUE, authProviders: [] },
    ...(entry === "up"
      ? {
          up: {
            state: {
              homeLocal: "/s/home-local",
              dataDir: "/s/data",
              dataVolumeRecord: "/s/data-volume",
              egressLog: "/s/egress.jsonl",
            },
            password: "pw-secret",
            hostPort: 4096,
            lifetime: "detached",
            authFile: "/home/me/.local/share/opencode/auth.json",
            runId: "run-1",
          },
        }
      : {}),
    ...overrides,
  };
}

/** The spec an entry point's sandbox gets on the project's workspace (as acquireSandbox builds it). */
function specOf(entry: EntryPoint, overrides: Partial<PlanInput> = {}): SandboxSpec {
  const planned = planSandbox(input(entry, overrides));
  if (planned.spec) return planned.spec;
  const p = planned.profile;
  const paths = p.cacheVolumes?.paths ?? [];
  return {
    ...sandboxSpec(p, {
      workspace: PROJECT.root,
      sandboxId: PROJECT.sandboxId,
      runId: "run-1",
      ...usersOf(),
    }),
    ...(paths.length
      ? { cacheVolumes: cacheVolumes(cacheIdentity(PROJECT.root, p.cacheVolumes?.project), paths) }
      : {}),
  };
}
const usersOf = () => ({ hostUser: USERS.host, agentUser: USERS.agent });

/** Paths (top-level keys, and one level into env, egress and opencodeConfig) whose values differ. */
function differences(a: SandboxSpec, b: SandboxSpec): string[] {
  const nested = new Set(["env", "egress", "opencodeConfig"]);
  const out: string[] = [];
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]) as Set<keyof SandboxSpec>;
  for (const k of keys) {
    const [x, y] = [a[k], b[k]];
    if (nested.has(k) && typeof x === "object" && typeof y === "object") {
      const xs = x as Record<string, unknown>;
      const ys = y as Record<string, unknown>;
      for (const n of new Set([...Object.keys(xs), ...Object.keys(ys)]))
        if (JSON.stringify(xs[n]) !== JSON.stringify(ys[n])) out.push(`${k}.${n}`);
    } else if (JSON.stringify(x) !== JSON.stringify(y)) out.push(k);
  }
  return out.sort();
}

/** The differences between entry points, on purpose. Everything else must be equal. */
const ON_PURPOSE = {
  /** A person's project sandbox keeps state: its password, port, data, auth, mounts, log, lifetime. */
  upOnly: [
    "authFile",
    "authProviders",
    "dataSeed",
    "dataVolume",
    "dataVolumeLabels",
    "dataVolumeRecord",
    "egress.decisionLog",
    "extraMounts",
    "hostPort",
    "lifetime",
    "password",
    "readyTimeoutMs",
    "workspaceAlias",
    "workspaceTarget",
  ],
  /** Unattended entry points pin OPENCODE_PERMISSION (`*` allowed, the project's lines kept for the ask policy); up leaves it to the project. */
  unattendedPolicy: ["env.OPENCODE_PERMISSION", "opencodeConfig.permission"],
  /** A task's OpenCode loads only its providers' models (plan/model-providers.ts); up, all of them. */
  taskOnly: ["modelProviders"],
};

describe("one planner: the same project, the same sandbox for every entry point", () => {
  const unattended = ENTRY_POINTS.filter(isUnattended);

  it("unattended entry points (run, eval run, eval judge, bridge, service) get identical specs", () => {
    const run = specOf("run");
    for (const entry of unattended) expect(differences(specOf(entry), run), entry).toEqual([]);
  });

  it("up differs from them only by its state and by the permission policy", () => {
    const up = specOf("up");
    for (const entry of unattended)
      expect(differences(up, specOf(entry)), entry).toEqual(
        [...ON_PURPOSE.upOnly, ...ON_PURPOSE.unattendedPolicy, ...ON_PURPOSE.taskOnly].sort(),
      );
  });

  it("up with autonomous differs by its state and by what it does with the project's asks", () => {
    const up = specOf("up", { options: { autonomous: true } });
    for (const entry of unattended)
      expect(differences(up, specOf(entry)), entry).toEqual(
        [...ON_PURPOSE.upOnly, "env.OPENCODE_PERMISSION", ...ON_PURPOSE.taskOnly].sort(),
      );
  });

  it("the same input gives the same plan, and the input is not changed", () => {
    const i = input("run");
    const before = JSON.stringify(i);
    expect(plan(i)).toEqual(plan(i));
    expect(JSON.stringify(i)).toBe(before);
  });
});

describe("planner decisions (one rule each, every entry point)", () => {
  it("a task's models file: the providers it can call and OpenCode's keyless one; up keeps every provider", () => {
    const providers = (entry: EntryPoint, overrides: Partial<PlanInput> = {}) =>
      planSandbox(input(entry, overrides)).profile.modelProviders;
    // ocbox.yaml's `model` (local), the workspace config's provider block (other), and the key
    // variables the agent gets: the host's OPENAI_API_KEY by the rules, GROQ_API_KEY by the caller.
    expect(providers("run", { options: { env: { GROQ_API_KEY: "gsk-x" } } })).toEqual([
      "groq",
      "local",
      "openai",
      "opencode",
      "other",
    ]);
    expect(providers("run")).toEqual(["local", "openai", "opencode", "other"]);
    // The task's model and the structurer's, beside them.
    const models = {
      providers: {
        catalogue: CATALOGUE,
        authProviders: [],
        model: { providerID: "anthropic", modelID: "claude-haiku-4-5" },
        alsoModels: [{ providerID: "openai", modelID: "gpt-4.1" }],
      },
    };
    expect(providers("eval-run", models)).toEqual(["anthropic", "local", "openai", "opencode", "other"]);
    expect(providers("up", models)).toBeUndefined();
    // Without the catalogue (a plan that starts nothing) no set is decided: the whole snapshot.
    expect(providers("run", { providers: undefined })).toBeUndefined();
  });

  it("env.map: the config's explicit line wins over the mapping generated for model.apiKeyEnv", () => {
    for (const entry of ENTRY_POINTS) {
      const env = specOf(entry).env;
      expect(env.LLM_KEY, entry).toBe("explicit-map-value");
      expect(env.GH, entry).toBe("ghp-secret");
    }
  });

  it("without an explicit line the generated mapping passes the key", () => {
    const config = parseProjectConfig(YAML.replace(/^env:\n.*\n/m, ""), "ocbox.yaml");
    for (const entry of ENTRY_POINTS)
      expect(specOf(entry, { config }).env.LLM_KEY).toBe("generated-mapping-value");
  });

  it("localhost is pinned to 127.0.0.1 in the generated config and in the caller's", () => {
    const caller = { provider: { mine: { options: { baseURL: "http://localhost:7000/v1" } } } };
    for (const entry of ENTRY_POINTS) {
      const spec = specOf(entry, { options: { opencodeConfig: caller } });
      const text = JSON.stringify(spec.opencodeConfig);
      expect(text, entry).not.toContain("localhost");
      expect(text).toContain("http://127.0.0.1:8080/v1");
      expect(text).toContain("http://127.0.0.1:7000/v1");
      expect(spec.forwardPorts).toEqual([5432, 7000, 8080, 9000]);
    }
    expect(caller.provider.mine.options.baseURL).toBe("http://localhost:7000/v1");
  });

  it("OPENCODE_PERMISSION: unattended allows *, keeps the project's lines for the ask policy, drops the host's", () => {
    for (const entry of ENTRY_POINTS.filter(isUnattended)) {
      const set = JSON.parse(specOf(entry).env.OPENCODE_PERMISSION ?? "{}") as Record<string, string>;
      expect(set, entry).toEqual({ "*": "allow", bash: "ask", custom_tool: "deny" });
      expect(planSandbox(input(entry)).permission).toEqual({ kind: "unattended", asks: "reject" });
    }
    const autonomous = planSandbox(input("run", { options: { permissions: "autonomous" } }));
    expect(autonomous.permission).toEqual({ kind: "unattended", asks: "autonomous" });
    expect(planTaskPart(input("run", { options: { permissions: "autonomous" } })).permissions).toBe(
      "autonomous",
    );
    expect(planTaskPart(input("run")).permissions).toBe("reject");
  });

  it("OPENCODE_PERMISSION: up leaves the project's own config in charge unless autonomous", () => {
    expect(planSandbox(input("up")).permission).toEqual({ kind: "project", why: "attended" });
    // Not set by the planner: the host's own variable passes by prefix, as before.
    expect(specOf("up").env.OPENCODE_PERMISSION).toBe(HOST_ENV.OPENCODE_PERMISSION);
    const auto = JSON.parse(
      specOf("up", { options: { autonomous: true } }).env.OPENCODE_PERMISSION ?? "",
    ) as unknown;
    expect(auto).toMatchObject({ "*": "allow", bash: "allow", custom_tool: "allow" });
  });

  it("a caller's explicit permission stays on top of the unattended policy", () => {
    const spec = specOf("run", { options: { opencodeConfig: { permission: { webfetch: "deny" } } } });
    expect(JSON.parse(spec.env.OPENCODE_PERMISSION ?? "")).toEqual({
      "*": "allow",
      webfetch: "deny",
      bash: "ask",
      custom_tool: "deny",
    });
    const up = specOf("up", {
      options: { autonomous: true, opencodeConfig: { permission: { webfetch: "deny" } } },
    });
    expect(JSON.parse(up.env.OPENCODE_PERMISSION ?? "")).toMatchObject({
      "*": "allow",
      bash: "allow",
      webfetch: "deny",
    });
  });

  it("a gateway's key never reaches the agent; the caller's env comes after the rules", () => {
    const hostEnv = { ...HOST_ENV, OPENAI_API_KEY: HOST_ENV.GATEWAY_KEY };
    const spec = specOf("run", { hostEnv, options: { env: { EXTRA: "1" } } });
    expect(spec.env.OPENAI_API_KEY).toBe("ocbox-gateway-holds-the-key");
    expect(spec.env.EXTRA).toBe("1");
    expect(JSON.stringify(spec.env)).not.toContain(HOST_ENV.GATEWAY_KEY);
    expect(spec.forwardPorts).not.toContain(9100);
  });

  it("task decisions: workflow, then role, then the caller", () => {
    const task = planTaskPart({ ...input("run", { rolePrompt: "Review." }), options: { role: "reviewer" } });
    expect(task).toMatchObject({
      model: { providerID: "local", modelID: "qwen" },
      role: "reviewer",
      system: "Review.",
      contract: { source: "role", role: "reviewer" },
      pool: "gpu",
      pools: { gpu: 1 },
      timeouts: { hardS: 60, inactivityS: 100, structurerS: 180, readyS: 90 },
      rateLimitPatterns: ["slow down"],
      maxRetriesOnMalformedOutput: 2,
    });
    const caller = planTaskPart({
      ...input("run", { rolePrompt: "Review." }),
      options: { role: "reviewer", timeouts: { hardS: 5 }, contractGiven: true, model: "openai/gpt-4.1" },
    });
    expect(caller).toMatchObject({ timeouts: { hardS: 5 }, contract: { source: "caller" }, pool: "gpu" });
    expect(caller.model).toEqual({ providerID: "openai", modelID: "gpt-4.1" });
    expect(planTaskPart(input("run")).pool).toBe("local");
  });

  it("task decisions: bad names fail before any sandbox, naming what to fix", () => {
    const fails = (options: PlanInput["options"], rolePrompt?: string) => {
      try {
        planTaskPart({ ...input("run"), options, rolePrompt });
      } catch (e) {
        if (e instanceof OcboxError) return e.message;
        throw e;
      }
      throw new Error("expected an OcboxError");
    };
    expect(fails({ model: "nobody/x" })).toMatch(/unknown provider "nobody"/);
    expect(fails({ model: "local/absent" })).toMatch(/has no model "absent"/);
    expect(fails({ role: "absent" })).toMatch(/unknown role "absent"/);
    expect(fails({ role: "reviewer" })).toMatch(/systemPromptFile reviewer\.md does not exist/);
    expect(fails({ rateLimitPatterns: ["/(/"] })).toMatch(/not a valid regular expression/);
  });

  it("bad volumes fail in the sandbox part with the option named", () => {
    expect(() => planSandbox(input("run", { options: { volumes: ["../up"] } }))).toThrow(/volumes\[0\]/);
  });

  it("the view redacts secret values in OpenCode configs and keeps references and names", () => {
    const mcp = { mcp: { s: { type: "local", environment: { TOKEN: "inline-secret", REF: "{env:REF}" } } } };
    const text = JSON.stringify(
      planView(plan(input("run", { workspaceOpencode: { file: "/p/opencode.json", config: mcp } }))),
    );
    expect(text).not.toContain("inline-secret");
    expect(text).toContain('"TOKEN":"(redacted)"');
    expect(text).toContain('"REF":"{env:REF}"');
    expect(text).toContain('"apiKey":"{env:LLM_KEY}"');
  });

  it("the plan's view names variables and keys, never their values", () => {
    for (const entry of ENTRY_POINTS) {
      const text = JSON.stringify(planView(plan(input(entry, { rolePrompt: "Review." }))));
      for (const secret of [...Object.values(HOST_ENV).filter((v) => v.length > 8), "pw-secret"])
        expect(text, `${entry}: ${secret}`).not.toContain(secret);
      expect(text).toContain("GATEWAY_KEY");
      expect(text).toContain("LLM_KEY");
    }
  });
});

describe("the workspace's mode in the plan (issue 14)", () => {
  it("--copy gives run a copy with the default excludes; up's copy volume is kept until a sync", () => {
    const run = planSandbox(input("run", { options: { copy: true } })).profile;
    expect(run.workspaceCopy).toEqual({ exclude: ["node_modules/"] });
    expect(run.workspaceMode).toBe("copy (--copy)");
    const up = planSandbox(input("up", { options: { copy: true } }));
    expect(up.spec?.workspaceCopy).toEqual({ exclude: ["node_modules/"], keep: true });
    expect(up.profile.workspaceMode).toBe("copy (--copy)");
  });

  it("auto follows the probe; without one (a plan that starts nothing) it binds", () => {
    const probe = { visible: false, prefix: "/home/me", cached: true, endpoint: "ssh://h" };
    expect(planSandbox(input("eval-run", { workspaceProbe: probe })).profile.workspaceCopy).toBeDefined();
    expect(planSandbox(input("run")).profile.workspaceCopy).toBeUndefined();
  });
});
