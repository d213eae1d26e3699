/** Approval of capability-granting files (issue 13): weakening detection and the one decision. */
import { describe, expect, it } from "vitest";
import { parseProjectConfig } from "../../src/config/parse.js";
import type { ApprovalFile, ApprovalRecord } from "../../src/plan/approval-files.js";
import { approvalError, decideApproval } from "../../src/plan/approval-state.js";
import { ENTRY_POINTS } from "../../src/plan/entry-point.js";
import {
  configWeakening,
  isLoopbackHost,
  leavesFolder,
  opencodeWeakening,
  weakeningKeys,
} from "../../src/plan/weakening.js";

const yaml = (text: string) => configWeakening(parseProjectConfig(text, "ocbox.yaml"));

describe("what counts as weakening in ocbox.yaml", () => {
  it.each([
    ["unsafe:\n  hostDockerSocket: true\n", "unsafe.hostDockerSocket"],
    ["hardening:\n  readOnlyRoot: false\n", "hardening.readOnlyRoot"],
    ["hardening:\n  noNewPrivileges: false\n", "hardening.noNewPrivileges"],
    ["hardening:\n  seccomp: unconfined\n", "hardening.seccomp"],
    ["hardening:\n  seccomp: engine-default\n", "hardening.seccomp"],
    ["hardening:\n  capAdd: [NET_BIND_SERVICE]\n", "hardening.capAdd"],
    ["hardening:\n  icmp: true\n", "hardening.icmp"],
    ["egress:\n  allow: [.github.com]\n", "egress.allow"],
    ["egress:\n  hostPorts: [5432]\n", "egress.hostPorts"],
    [
      "egress:\n  gateways:\n    - upstream: https://api.openai.com\n      port: 9101\n      keyEnv: OPENAI_API_KEY\n",
      "egress.gateways",
    ],
    ["env:\n  map:\n    X: HOME\n", "env.map"],
    ["env:\n  set:\n    REPO: app\n", "env.set"],
    ["env:\n  passthroughPrefixes: [AWS_]\n", "env.passthroughPrefixes"],
    ["image:\n  base: debian:bookworm\n", "image.base"],
    ["image:\n  packages: [ripgrep]\n", "image.packages"],
    ["apt:\n  allow: [ripgrep]\n", "apt.allow"],
    ["model:\n  baseURL: http://127.0.0.1:18977/v1\n  models:\n    m: {}\n", "model.baseURL"],
    [
      "roles:\n  r:\n    systemPromptFile: ../../etc/passwd\n",
      "roles.r.systemPromptFile (outside the config's folder)",
    ],
    [
      "roles:\n  r:\n    systemPromptFile: /etc/passwd\n",
      "roles.r.systemPromptFile (outside the config's folder)",
    ],
  ])("%s → %s", (text, key) => {
    expect(yaml(text)).toEqual([key]);
  });

  it("the defaults, and narrowing, are not weakening", () => {
    expect(yaml("")).toEqual([]);
    expect(
      yaml(
        "name: myapp\negress:\n  allow: []\n  hostPorts: []\n  restricted: true\nhardening:\n  readOnlyRoot: true\n  seccomp: ocbox\n" +
          "  capAdd: []\nunsafe:\n  hostDockerSocket: false\nenv:\n  map: {}\nlimits:\n  memory: 1g\nautonomous: false\n" +
          "roles:\n  r:\n    systemPromptFile: prompts/r.md\n",
      ),
    ).toEqual([]);
    // restricted mode ignores egress.allow: listing hosts there grants nothing.
    expect(yaml("egress:\n  restricted: true\n  allow: [.github.com]\n")).toEqual([]);
  });

  it("a prompt path leaves the folder only when it climbs out of it", () => {
    expect(leavesFolder("a/../b.md")).toBe(false);
    expect(leavesFolder("a/../../b.md")).toBe(true);
    expect(leavesFolder("..")).toBe(true);
    expect(leavesFolder("C:\\x")).toBe(true);
  });
});

describe("what counts as weakening in opencode.json(c)", () => {
  it.each([
    [
      { provider: { x: { options: { baseURL: "http://127.0.0.1:18977/v1" } } } },
      ["provider.x.options.baseURL"],
    ],
    [{ provider: { x: { options: { baseURL: "http://localhost:1/v1" } } } }, ["provider.x.options.baseURL"]],
    [{ provider: { x: { options: { baseURL: "http://[::1]:1/v1" } } } }, ["provider.x.options.baseURL"]],
    [{ provider: { x: { options: { baseURL: "http://0x7f000001:1/v1" } } } }, ["provider.x.options.baseURL"]],
    [{ provider: { x: { options: { baseURL: "not a url" } } } }, ["provider.x.options.baseURL"]],
    [{ mcp: { s: { type: "local", command: ["x"] } } }, ["mcp"]],
    [{ plugin: ["evil-plugin"] }, ["plugin"]],
    [{ permission: { bash: "allow" } }, ["permission"]],
  ])("%j", (config, keys) => {
    expect(opencodeWeakening(config)).toEqual(keys);
  });

  it("a remote provider, a model choice and empty lists are not weakening", () => {
    expect(
      opencodeWeakening({
        model: "openai/gpt-5",
        provider: { openai: { options: { baseURL: "https://api.openai.com/v1" } } },
        mcp: {},
        plugin: [],
      }),
    ).toEqual([]);
    expect(isLoopbackHost("127.1")).toBe(true);
    expect(isLoopbackHost("api.localhost")).toBe(true);
    expect(isLoopbackHost("example.com")).toBe(false);
  });

  it("a non-empty hook and a benchmark task's files always count", () => {
    const base = { path: "p", sha256: "0".repeat(64) };
    expect(weakeningKeys({ ...base, kind: "hook", empty: true })).toEqual([]);
    expect(weakeningKeys({ ...base, kind: "hook", empty: false })).toHaveLength(1);
    expect(weakeningKeys({ ...base, kind: "task-toml" })).toHaveLength(1);
    expect(weakeningKeys({ ...base, kind: "task-dockerfile" })).toHaveLength(1);
  });
});

describe("the approval decision, the same for every entry point", () => {
  const h = (c: string) => c.repeat(64);
  const weak: ApprovalFile = {
    kind: "ocbox-yaml",
    path: "ocbox.yaml",
    sha256: h("a"),
    config: parseProjectConfig("unsafe:\n  hostDockerSocket: true\n", "ocbox.yaml"),
  };
  const plain: ApprovalFile = {
    kind: "opencode-json",
    path: "opencode.json",
    sha256: h("b"),
    config: { model: "a/b" },
  };
  const rec = (f: ApprovalFile): ApprovalRecord => ({
    kind: f.kind,
    path: f.path,
    sha256: f.sha256,
    approvedAt: "t",
  });

  it("unattended: an unapproved weakening file is refused (exit 2 naming file, key and the fix); one with none proceeds", () => {
    for (const entry of ENTRY_POINTS.filter((e) => e !== "up")) {
      const state = decideApproval({ entry, files: [weak, plain], records: [], how: "none" });
      expect(state.kind).toBe("refused");
      const e = approvalError(state, "/tasks");
      expect(e?.exitCode).toBe(2);
      expect(e?.message).toBe("not approved in /tasks: ocbox.yaml (unsafe.hostDockerSocket)");
      expect(e?.fix).toMatch(/ocbox approve \/tasks.*--approve-config/);
      expect(decideApproval({ entry, files: [plain], records: [], how: "none" }).kind).toBe("approved");
    }
  });

  it("up asks on any change; refuses without a terminal or the flag", () => {
    expect(decideApproval({ entry: "up", files: [plain], records: [], how: "none" }).kind).toBe("refused");
    const asked = decideApproval({
      entry: "up",
      files: [plain, weak],
      records: [rec(weak)],
      how: "interactive",
    });
    expect(asked).toMatchObject({
      kind: "needs-approval",
      pending: [{ path: "opencode.json", weakening: [] }],
    });
  });

  it("the flag approves and says what to record; a record of the same bytes approves; other bytes do not", () => {
    const flagged = decideApproval({ entry: "eval-run", files: [weak], records: [], how: "flag" });
    expect(flagged).toMatchObject({ kind: "approved", record: [{ path: "ocbox.yaml", sha256: h("a") }] });
    expect(decideApproval({ entry: "run", files: [weak], records: [rec(weak)], how: "none" }).kind).toBe(
      "approved",
    );
    const other = { ...rec(weak), sha256: h("c") };
    expect(decideApproval({ entry: "run", files: [weak], records: [other], how: "none" }).kind).toBe(
      "refused",
    );
    // A record is for one file: the same bytes at another path are not approved by it.
    expect(
      decideApproval({
        entry: "run",
        files: [{ ...weak, path: "sub/ocbox.yaml" }],
        records: [rec(weak)],
        how: "none",
      }).kind,
    ).toBe("refused");
  });

  it("a file the caller passed explicitly counts as approved; a hook carried over from approved.json has no path", () => {
    const wf: ApprovalFile = { ...weak, kind: "workflow", path: "../wf.yaml", explicit: true };
    expect(decideApproval({ entry: "run", files: [wf], records: [], how: "none" })).toMatchObject({
      kind: "approved",
      files: [{ status: "explicit" }],
    });
    const hook: ApprovalFile = { kind: "hook", path: ".ocbox/pre-start.sh", sha256: h("d"), empty: false };
    expect(
      decideApproval({
        entry: "up",
        files: [hook],
        records: [{ kind: "hook", sha256: h("d"), approvedAt: "t" }],
        how: "none",
      }).kind,
    ).toBe("approved");
  });
});
