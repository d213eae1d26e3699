import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { phaseNetworkPolicies, verifierMode } from "../../src/config/harbor-task-schema.js";
import { locateTomlKey } from "../../src/config/toml-source.js";
import { parseTaskToml } from "../../src/eval/harbor-task.js";
import { TaskProblem } from "../../src/eval/task-problem.js";
import { loadTaskSet } from "../../src/eval/task-set.js";
import { taskSetLines, viewTaskSet } from "../../src/eval/task-set-view.js";
import { scaleTaskTimeouts } from "../../src/eval/task-timeouts.js";

const FIXTURES = resolve(import.meta.dirname, "../fixtures/harbor-tasks");

/** A Harbor task folder with a Dockerfile, an instruction and a verifier, plus `files` (null: left out). */
function harborTask(root: string, id: string, toml: string, files: Record<string, string | null> = {}) {
  const all = {
    "task.toml": toml,
    "instruction.md": "Do the thing.",
    "environment/Dockerfile": "FROM ocbox/debian-base:bookworm\n",
    "tests/test.sh": "echo 1 > /logs/verifier/reward.txt\n",
    ...files,
  };
  for (const [name, text] of Object.entries(all)) {
    const file = join(root, id, name);
    mkdirSync(dirname(file), { recursive: true });
    if (text !== null) writeFileSync(file, text);
  }
}

const problem = (text: string) => {
  try {
    parseTaskToml(text, "t/task.toml");
  } catch (e) {
    if (e instanceof TaskProblem) return e.issue;
    throw e;
  }
  throw new Error("expected a TaskProblem");
};

// The shape of a Terminal-Bench 2.0 task.toml (older keys: memory/storage as sizes, allow_internet).
const TERMINAL_BENCH = `version = "1.0"

[metadata]
author_name = "Jane Doe"
author_email = "jane@example.com"
difficulty = "medium"
category = "software-engineering"
tags = ["git", "python"]
expert_time_estimate_min = 30.0
junior_time_estimate_min = 120.0

[verifier]
timeout_sec = 900.0

[agent]
timeout_sec = 1800.0

[environment]
build_timeout_sec = 600.0
docker_image = "alexgshaw/fix-git:20251031"
cpus = 2
memory = "4G"
storage = "10G"
`;

describe("Harbor task.toml", () => {
  it("reads a Terminal-Bench 2.0 task.toml: defaults, old size keys, metadata kept", () => {
    const { toml, unknown } = parseTaskToml(TERMINAL_BENCH, "task.toml");
    expect(unknown).toEqual([]);
    expect(toml.agent.timeout_sec).toBe(1800);
    expect(toml.verifier).toMatchObject({ timeout_sec: 900, env: {} });
    expect(toml.environment).toMatchObject({
      docker_image: "alexgshaw/fix-git:20251031",
      cpus: 2,
      memory_mb: 4096,
      storage_mb: 10240,
      build_timeout_sec: 600,
      gpus: 0,
      allow_internet: true,
    });
    expect(toml.metadata).toMatchObject({ difficulty: "medium", tags: ["git", "python"] });
    expect(phaseNetworkPolicies(toml)).toEqual({
      agent: { mode: "public", allowedHosts: [] },
      verifier: { mode: "public", allowedHosts: [] },
    });
  });

  it("gives Harbor's defaults to an empty file", () => {
    const { toml } = parseTaskToml("", "task.toml");
    expect(toml.verifier.timeout_sec).toBe(600);
    expect(toml.agent.timeout_sec).toBeUndefined();
    expect(toml.environment).toMatchObject({
      cpus: 1,
      memory_mb: 2048,
      storage_mb: 10240,
      build_timeout_sec: 600,
    });
  });

  it("maps network_mode, allow_internet and allowed_hosts per phase", () => {
    const { toml } = parseTaskToml(
      `[environment]\nallow_internet = false\n[agent]\nallowed_hosts = ["*.PyPI.org", "files.pythonhosted.org.", "10.0.0.0/8", "192.0.2.7"]\n[verifier]\nnetwork_mode = "public"\n`,
      "task.toml",
    );
    expect(phaseNetworkPolicies(toml)).toEqual({
      agent: {
        mode: "allowlist",
        allowedHosts: ["*.pypi.org", "files.pythonhosted.org", "10.0.0.0/8", "192.0.2.7"],
      },
      verifier: { mode: "public", allowedHosts: [] },
    });
    const env = parseTaskToml(`[environment]\nnetwork_mode = "no-network"\nallow_internet = true\n`, "t");
    expect(phaseNetworkPolicies(env.toml).agent.mode).toBe("no-network");
  });

  it("reports a TOML syntax error with its line and column", () => {
    const issue = problem(`[agent]\ntimeout_sec = 10\n[environment\ncpus = 2\n`);
    expect(issue.path).toBe("t/task.toml:3:13");
    expect(issue.field).toBe("(toml)");
    expect(issue.problem).toMatch(/fix the TOML syntax/);
  });

  it("reports a bad value at the line of its key, naming the field and the fix", () => {
    const bad = problem(`version = "1.0"\n\n[environment]\nbuild_timeout_sec = 60\ncpus = "two"\n`);
    expect(bad).toMatchObject({ path: "t/task.toml:5", field: "environment.cpus" });
    const mode = problem(`[verifier]\ntimeout_sec = 5\nnetwork_mode = "offline"\n`);
    expect(mode).toMatchObject({ path: "t/task.toml:3", field: "verifier.network_mode" });
    const hosts = problem(`[agent]\nnetwork_mode = "public"\nallowed_hosts = ["a.example.com"]\n`);
    expect(hosts.path).toBe("t/task.toml:3");
    expect(hosts.problem).toMatch(/only valid with agent.network_mode = "allowlist"/);
    const url = problem(`[environment]\nallowed_hosts = ["https://example.com/x"]\n`);
    expect(url).toMatchObject({ path: "t/task.toml:2", field: "environment.allowed_hosts[0]" });
    const dotted = problem(`agent.timeout_sec = -1\n`);
    expect(dotted).toMatchObject({ path: "t/task.toml:1", field: "agent.timeout_sec" });
    const timeout = problem(`[agent]\ntimeout_sec = 0\n`);
    expect(timeout.problem).toMatch(/seconds above 0/);
  });

  it("finds keys in tables, dotted keys and quoted keys", () => {
    const text = `a = 1\n[environment]\n"cpus" = 2\nenv.FOO = "x"\n[[environment.mcp_servers]]\nname = "m"\n`;
    expect(locateTomlKey(text, ["environment", "cpus"])).toBe(3);
    expect(locateTomlKey(text, ["environment", "env", "FOO"])).toBe(4);
    expect(locateTomlKey(text, ["environment", "mcp_servers", 0, "name"])).toBe(6);
    expect(locateTomlKey(text, ["environment", "memory_mb"])).toBe(2);
    expect(locateTomlKey(text, ["nowhere"])).toBe(1);
  });
});

describe("Harbor's verifier mode", () => {
  const mode = (text: string) => verifierMode(parseTaskToml(text, "task.toml").toml);
  it("shared by default; environment_mode selects; a [verifier.environment] means separate", () => {
    expect(mode("")).toBe("shared");
    expect(mode('[verifier]\nenvironment_mode = "separate"\n')).toBe("separate");
    expect(mode('[verifier]\nenvironment_mode = "shared"\n')).toBe("shared");
    expect(mode("[verifier.environment]\ncpus = 2\n")).toBe("separate");
    expect(parseTaskToml("[verifier.environment]\ncpus = 2\n", "t").unknown).toEqual([]);
  });

  it("refuses an unknown mode and shared with a verifier environment, at the line", () => {
    const bad = (text: string) => {
      try {
        parseTaskToml(text, "task.toml");
      } catch (e) {
        if (e instanceof TaskProblem) return e.issue;
        throw e;
      }
      throw new Error("parsed");
    };
    expect(bad('[verifier]\nenvironment_mode = "apart"\n')).toMatchObject({
      path: "task.toml:2",
      field: "verifier.environment_mode",
    });
    const conflict = bad('[verifier]\nenvironment_mode = "shared"\n[verifier.environment]\ncpus = 1\n');
    expect(conflict.field).toBe("verifier.environment_mode");
    expect(conflict.problem).toMatch(/conflicts with \[verifier.environment\]/);
  });
});

// A task.toml with the later TaskConfig keys: [task] with a version, os, per-phase network
// overrides, an MCP server over `http`, a separate verifier, artifacts.
const LATER_SCHEMA = `schema_version = "1.1"

[task]
name = "acme/fix-build"
version = "2.0.1"
description = "Fix the build"
authors = [{ name = "Jane Doe", email = "jane@example.com" }]
keywords = ["c", "make"]

[metadata]
difficulty_explanation = "needs reading a Makefile"

[agent]
timeout_sec = 600.0
user = "agent"
network_mode = "allowlist"
allowed_hosts = ["deb.debian.org"]

[verifier]
timeout_sec = 120.0
env = { API_KEY = "sk-test" }
user = 0
environment_mode = "separate"

[environment]
build_timeout_sec = 900.0
os = "Linux"
cpus = 2
memory_mb = 4096
network_mode = "no-network"
workdir = "/src"
env = { CC = "gcc" }

[[environment.mcp_servers]]
name = "docs"
transport = "http"
url = "http://docs:8000/mcp"

[solution]
env = {}
`;

describe("Harbor's TaskConfig, key by key (compared with copies of Harbor's models/task/config.py)", () => {
  it("reads the later keys: [task] with a version, os case-insensitive, mcp transport http, phases' networks", () => {
    const { toml, unknown } = parseTaskToml(LATER_SCHEMA, "task.toml");
    expect(unknown).toEqual([]);
    expect(toml.task).toMatchObject({ name: "acme/fix-build", version: "2.0.1", keywords: ["c", "make"] });
    expect(toml.environment).toMatchObject({ os: "linux", cpus: 2, memory_mb: 4096, workdir: "/src" });
    expect(toml.environment.mcp_servers[0]).toMatchObject({ transport: "streamable-http" });
    expect(toml.agent).toMatchObject({ user: "agent", timeout_sec: 600 });
    expect(toml.verifier).toMatchObject({ user: 0, env: { API_KEY: "sk-test" } });
    expect(verifierMode(toml)).toBe("separate");
    expect(phaseNetworkPolicies(toml)).toEqual({
      agent: { mode: "allowlist", allowedHosts: ["deb.debian.org"] },
      verifier: { mode: "no-network", allowedHosts: [] },
    });
    expect(toml.artifacts).toEqual([]);
  });

  it("refuses Windows containers and multi-step tasks at their line; other values name the field", () => {
    const windows = problem(`[environment]\ncpus = 1\nos = "WINDOWS"\n`);
    expect(windows).toMatchObject({ path: "t/task.toml:3", field: "environment.os" });
    expect(windows.problem).toMatch(/Windows containers are not supported/);
    expect(problem(`[environment]\nos = "macos"\n`)).toMatchObject({ field: "environment.os" });
    const steps = problem(`version = "1.0"\n\n[[steps]]\nname = "one"\n`);
    expect(steps).toMatchObject({ path: "t/task.toml:3", field: "steps" });
    expect(steps.problem).toMatch(/multi-step tasks/);
    const transport = problem(`[[environment.mcp_servers]]\nname = "m"\ntransport = "ws"\n`);
    expect(transport).toMatchObject({ field: "environment.mcp_servers[0].transport" });
  });

  it("keeps Harbor's older keys: version for schema_version, memory/storage sizes, allow_internet", () => {
    const text = `version = "1.0"\n[environment]\nmemory = "512M"\nstorage = "1G"\nallow_internet = false\n`;
    const { toml } = parseTaskToml(text, "t");
    expect(toml.version).toBe("1.0");
    expect(toml.environment).toMatchObject({ memory_mb: 512, storage_mb: 1024 });
    expect(phaseNetworkPolicies(toml).agent.mode).toBe("no-network");
  });
});

describe("Harbor task folders", () => {
  it("loads the fixture task set unchanged", async () => {
    const set = await loadTaskSet(FIXTURES);
    expect(set.invalid).toEqual([]);
    expect(set.tasks.map((t) => [t.id, t.format])).toEqual([
      ["hello-tool", "harbor"],
      ["musl-tool", "harbor"],
      ["offline", "harbor"],
    ]);
    const [hello, , offline] = set.tasks;
    expect(hello?.prompt).toMatch(/harbor-hello/);
    expect(hello?.app).toBeUndefined();
    expect(hello?.config.timeoutS).toBe(120);
    expect(hello?.harbor?.environment).toEqual({
      kind: "dockerfile",
      context: join(FIXTURES, "hello-tool/environment"),
    });
    expect(hello?.harbor?.network.agent.mode).toBe("no-network");
    expect(hello?.harbor?.toml.metadata.difficulty).toBe("easy");
    expect(hello?.harbor?.solutionDir).toBe(join(FIXTURES, "hello-tool/solution"));
    expect(offline?.harbor?.toml.environment.workdir).toBe("/work");
    expect(offline?.harbor?.toml.verifier.env).toEqual({ EXPECTED: "42" });
    expect(offline?.harbor?.notices).toEqual([]);
  });

  it("keeps unknown keys and says once what is not supported or not enforced", async () => {
    const root = mkdtempSync(join(tmpdir(), "ocbox-harbor-"));
    harborTask(
      root,
      "extras",
      `weird = true\nartifacts = ["/app/out.log"]\n[environment]\ngpus = 1\nstorage_mb = 4096\nfuture_key = "x"\n[[environment.mcp_servers]]\nname = "docs"\nurl = "http://docs:8000/sse"\n[solution]\nenv = { TOKEN = "x" }\n`,
    );
    const set = await loadTaskSet(root);
    expect(set.invalid).toEqual([]);
    const notices = set.tasks[0]?.harbor?.notices ?? [];
    expect(notices[0]).toBe("unknown key(s) kept, not used: environment.future_key, weird");
    expect(notices.join("\n")).toMatch(/gpus: not supported/);
    expect(notices.join("\n")).toMatch(/mcp_servers: not supported yet/);
    expect(notices.join("\n")).toMatch(/solution.env: not supported/);
    expect(notices.join("\n")).toMatch(/storage_mb: not enforced/);
    expect(notices.join("\n")).toMatch(/artifacts: not collected/);
    expect(taskSetLines(viewTaskSet(set))).toContain(
      "  note: environment.gpus: not supported, the task runs without",
    );
  });

  it("counts a compose environment, a missing verifier, a missing environment and a bad file as invalid", async () => {
    const root = mkdtempSync(join(tmpdir(), "ocbox-harbor-"));
    harborTask(root, "compose", "", { "environment/docker-compose.yaml": "services: {}\n" });
    harborTask(root, "no-tests", "", { "tests/test.sh": null });
    harborTask(root, "no-env", "", { "environment/Dockerfile": null });
    harborTask(root, "image", `[environment]\ndocker_image = "ubuntu:24.04"\n`, {
      "environment/Dockerfile": null,
    });
    harborTask(root, "malformed", `[agent]\ntimeout_sec = = 3\n`);
    harborTask(root, "no-instruction", "", { "instruction.md": "  \n" });
    const set = await loadTaskSet(root);
    expect(set.tasks.map((t) => [t.id, t.harbor?.environment])).toEqual([
      ["image", { kind: "image", image: "ubuntu:24.04" }],
    ]);
    const byId = Object.fromEntries(set.invalid.map((i) => [i.id, i]));
    expect(byId.compose?.problem).toMatch(/compose-based environments are not supported yet/);
    expect(byId["no-tests"]?.problem).toMatch(/write tests\/test.sh/);
    expect(byId["no-env"]?.problem).toMatch(/environment\/Dockerfile, or set \[environment\] docker_image/);
    expect(byId.malformed?.path).toBe(join(root, "malformed/task.toml:2:15"));
    expect(byId["no-instruction"]).toMatchObject({
      field: "instruction.md",
      problem: "empty: write the task into it",
    });
  });

  it("mixes formats in one set; --filter and --limit pick tasks in id order", async () => {
    const root = mkdtempSync(join(tmpdir(), "ocbox-harbor-"));
    harborTask(root, "b-harbor", "");
    harborTask(root, "c-harbor", "");
    mkdirSync(join(root, "a-ocbox"));
    writeFileSync(join(root, "a-ocbox/prompt.md"), "Add a README.");
    writeFileSync(join(root, "a-ocbox/requirements.yaml"), "- id: r\n  description: README.md exists\n");
    mkdirSync(join(root, "empty"));
    const all = await loadTaskSet(root);
    expect(all.tasks.map((t) => [t.id, t.format])).toEqual([
      ["a-ocbox", "ocbox"],
      ["b-harbor", "harbor"],
      ["c-harbor", "harbor"],
    ]);
    expect((await loadTaskSet(root, { limit: 2 })).tasks.map((t) => t.id)).toEqual(["a-ocbox", "b-harbor"]);
    expect((await loadTaskSet(root, { filter: "*-harbor", limit: 1 })).tasks.map((t) => t.id)).toEqual([
      "b-harbor",
    ]);
    const none = mkdtempSync(join(tmpdir(), "ocbox-harbor-"));
    mkdirSync(join(none, "not-a-task"));
    expect(await loadTaskSet(none)).toEqual({ tasks: [], invalid: [] });
  });

  it("scales every timeout with --timeout-multiplier", async () => {
    const [task] = (await loadTaskSet(FIXTURES, { filter: "hello-tool" })).tasks;
    if (!task) throw new Error("fixture missing");
    const scaled = scaleTaskTimeouts(task, 2.5);
    expect(scaled.config.timeoutS).toBe(300);
    expect(scaled.harbor?.toml.agent.timeout_sec).toBe(300);
    expect(scaled.harbor?.toml.verifier.timeout_sec).toBe(150);
    expect(scaled.harbor?.toml.environment.build_timeout_sec).toBe(750);
    expect(task.harbor?.toml.verifier.timeout_sec).toBe(60);
    expect(scaleTaskTimeouts(task, 1)).toBe(task);
  });
});
