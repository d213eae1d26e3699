import { mkdtemp, rm, stat } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { describe, expect, it } from "vitest";
import { TaskRegistry, type TaskRunner } from "../../src/bridge/task-registry.js";
import { startBridgeHttp } from "../../src/bridge/http.js";
import { bearerMatches, ensureBridgeToken } from "../../src/bridge/token.js";
import { BRIDGE_TOOLS, createBridgeServer } from "../../src/bridge/tools.js";
import { checkMcpServers, inlineSecret } from "../../src/plan/mcp-servers.js";
import { parseProjectConfig } from "../../src/config/parse.js";
import type { OcboxError } from "../../src/errors.js";
import type { TaskResult } from "../../src/executor/task.js";
import { emptyTokens } from "../../src/executor/task.js";
import { lastActivityOf, pushSample, sandboxView } from "../../src/monitor/dashboard-model.js";
import { startDashboardServer } from "../../src/monitor/dashboard-server.js";
import { compareDebianVersions } from "../../src/monitor/debian-version.js";
import { classifyListeners, systemPorts } from "../../src/monitor/listeners.js";
import { environValue, parseProcNetTcp, socketInode } from "../../src/monitor/proc-net.js";
import { commandName } from "../../src/monitor/resources.js";
import { securitySummary } from "../../src/monitor/security-summary.js";
import { matchVulnerabilities, parseDpkgQuery } from "../../src/monitor/vuln-feed.js";
import { autonomousPermission } from "../../src/project/autonomous.js";
import type { SandboxRow } from "../../src/project/sandbox-list.js";
import { startupSummary } from "../../src/project/summary.js";

const PROC_TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1000 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 11111 1 0000000000000000 100 0 0 10 0
   1: 0100007F:0C38 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 22222 1 0000000000000000 100 0 0 10 0
   2: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 33333 1 0000000000000000 100 0 0 10 0
   3: 0100007F:1000 0100007F:A1B2 01 00000000:00000000 00:00000000 00000000  1000        0 44444 1 0000000000000000 100 0 0 10 0
`;
const PROC_TCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:1F91 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 55555 1 0000000000000000 100 0 0 10 0
`;

describe("listener monitor (pure)", () => {
  it("parses LISTEN sockets from /proc/net/tcp and tcp6, skipping other states", () => {
    expect(parseProcNetTcp(PROC_TCP)).toEqual([
      { address: "127.0.0.1", port: 4096, inode: 11111 },
      { address: "127.0.0.1", port: 3128, inode: 22222 },
      { address: "0.0.0.0", port: 8080, inode: 33333 },
    ]);
    expect(parseProcNetTcp(PROC_TCP6)).toEqual([{ address: "::1", port: 8081, inode: 55555 }]);
  });

  it("reads one variable from environ and socket inodes from fd links", () => {
    expect(environValue("A=1\0OCBOX_FORWARD_PORTS=3128 5432\0SECRET=x\0", "OCBOX_FORWARD_PORTS")).toBe(
      "3128 5432",
    );
    expect(environValue("A=1\0", "OCBOX_FORWARD_PORTS")).toBeUndefined();
    expect(socketInode("socket:[123]")).toBe(123);
    expect(socketInode("/dev/null")).toBeUndefined();
  });

  it("marks ocbox's own and configured ports expected, the rest unexpected", () => {
    const system = systemPorts("3128 5432");
    const scan = classifyListeners(
      [...parseProcNetTcp(PROC_TCP), { address: "0.0.0.0", port: 3000, inode: 9, command: "node server.js" }],
      { system, configured: [3000] },
      new Date(0),
    );
    expect(scan.listeners.map((l) => [l.port, l.expected, l.reason])).toEqual([
      [3000, true, "monitors.listeners.expected"],
      [3128, true, "ocbox relay"],
      [4096, true, "ocbox server"],
      [8080, false, undefined],
    ]);
    expect(scan.unexpected).toBe(1);
  });

  it("names processes by argv0 only", () => {
    expect(commandName("/usr/bin/python3 -m http.server --token=abc")).toBe("python3");
  });
});

describe("security summary", () => {
  it("adds up unexpected listeners, denials in the period and peaks", () => {
    const scan = classifyListeners(
      parseProcNetTcp(PROC_TCP),
      { system: systemPorts(""), configured: [] },
      new Date(0),
    );
    const s = securitySummary({
      since: new Date("2026-01-01T00:00:00Z"),
      now: new Date("2026-01-01T01:00:00Z"),
      lastScan: scan,
      snapshots: [
        {
          time: "",
          cpuPercent: 5,
          memoryBytes: 100,
          memoryLimitBytes: 0,
          pids: 4,
          openFiles: 10,
          processes: {},
        },
        {
          time: "",
          cpuPercent: 50,
          memoryBytes: 50,
          memoryLimitBytes: 0,
          pids: 9,
          openFiles: null,
          processes: {},
        },
      ],
      decisions: [
        {
          time: "2025-12-31T23:00:00Z",
          host: "old.example",
          port: 443,
          method: "CONNECT",
          decision: "deny",
          rule: "x",
          status: 200,
        },
        {
          time: "2026-01-01T00:10:00Z",
          host: "evil.example",
          port: 443,
          method: "CONNECT",
          decision: "deny",
          rule: "x",
          status: 200,
        },
        {
          time: "2026-01-01T00:11:00Z",
          host: "evil.example",
          port: 80,
          method: "GET",
          decision: "deny",
          rule: "x",
          status: 403,
        },
        {
          time: "2026-01-01T00:12:00Z",
          host: "ok.example",
          port: 443,
          method: "CONNECT",
          decision: "allow",
          rule: "ok.example",
          status: 200,
        },
      ],
    });
    expect(s.egress).toEqual({ allowed: 1, denied: 2, deniedHosts: [{ host: "evil.example", count: 2 }] });
    expect(s.listeners.unexpected.map((l) => l.port)).toEqual([3128, 8080]);
    expect(s.peaks).toEqual({ cpuPercent: 50, memoryBytes: 100, pids: 9, openFiles: 10 });
    expect(s.verdict).toBe("attention");
  });
});

describe("monitors config", () => {
  it("is off by default and takes intervals and expected ports", () => {
    expect(parseProjectConfig("", "ocbox.yaml").monitors.listeners).toEqual({
      enabled: false,
      expected: [],
      intervalS: 15,
    });
    const c = parseProjectConfig(
      "monitors:\n  listeners: { enabled: true, expected: [3000] }\n  summary: { enabled: true, intervalS: 60 }\n",
      "ocbox.yaml",
    );
    expect(c.monitors.listeners.expected).toEqual([3000]);
    expect(c.monitors.summary).toEqual({ enabled: true, intervalS: 60 });
    expect(() => parseProjectConfig("monitors:\n  listener: {}\n", "ocbox.yaml")).toThrow();
  });
});

const row: SandboxRow = {
  sandboxId: "demo-abc",
  runId: "r1",
  project: "/p",
  workspaceTarget: "/p",
  url: "http://127.0.0.1:1234",
  port: 1234,
  state: "running",
  lifetime: "detached",
  startedAt: "2026-01-01T00:00:00Z",
  uptimeS: 5,
  ownerPid: 1,
  agentId: "c1",
  containerIds: ["c1"],
};

describe("dashboard model", () => {
  it("keeps a bounded series and shows process names, never command lines", () => {
    let samples = pushSample([], { t: 1, cpu: 1, memMb: 1 }, 2);
    samples = pushSample(samples, { t: 2, cpu: 2, memMb: 2 }, 2);
    samples = pushSample(samples, { t: 3, cpu: 3, memMb: 3 }, 2);
    expect(samples.map((s) => s.t)).toEqual([2, 3]);
    const view = sandboxView({
      row,
      samples,
      memLimitBytes: 4 * 1048576,
      egress: [
        { host: "evil.example", allowed: 0, denied: 2, ports: [443], lastRule: "not on the allowlist" },
      ],
      listeners: [
        {
          address: "0.0.0.0",
          port: 8080,
          inode: 1,
          command: "python3 -m http.server --token=SECRET",
          expected: false,
        },
      ],
      listenersError: undefined,
      activity: { lastActivity: null, sessions: null },
    });
    expect(JSON.stringify(view)).not.toContain("SECRET");
    expect(view.listeners?.[0]?.process).toBe("python3");
    expect(view.memLimitMb).toBe(4);
  });

  it("finds the last activity in a session list", () => {
    expect(lastActivityOf([{ time: { updated: 1000 } }, { time: { created: 5000 } }])).toEqual({
      lastActivity: new Date(5000).toISOString(),
      sessions: 2,
    });
    expect(lastActivityOf({})).toEqual({ lastActivity: null, sessions: null });
  });
});

describe("dashboard server", () => {
  it("refuses without a login, logs in once with a code, streams snapshots", async () => {
    const server = await startDashboardServer();
    try {
      expect((await fetch(server.url)).status).toBe(401);
      expect((await fetch(`${server.url}/api/snapshot`)).status).toBe(401);
      const login = server.loginUrl();
      const res = await fetch(login, { redirect: "manual" });
      expect(res.status).toBe(303);
      const cookie = (res.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
      expect((await fetch(login, { redirect: "manual" })).status).toBe(401); // spent
      server.publish({ time: "t", sandboxes: [] });
      const snap = await fetch(`${server.url}/api/snapshot`, { headers: { cookie } });
      expect(await snap.json()).toEqual({ time: "t", sandboxes: [] });
      const page = await fetch(server.url, { headers: { cookie } });
      expect(await page.text()).toContain("ocbox dashboard");
      const wrongHost = await new Promise<number>((resolve, reject) => {
        const req = request(server.url, { headers: { cookie, host: "evil.example" } }, (r) => {
          r.resume();
          resolve(r.statusCode ?? 0);
        });
        req.on("error", reject);
        req.end();
      });
      expect(wrongHost).toBe(421);
    } finally {
      await server.close();
    }
  });
});

const fakeResult = (text: string): TaskResult => ({
  outcome: "COMPLETE",
  contract: { outcome: "COMPLETE", summary: text },
  failureReason: null,
  failureKind: null,
  hint: null,
  attempts: 1,
  recoveredBy: "structured-output",
  sessionId: "s",
  model: null,
  tokens: emptyTokens(),
  cost: 0,
  timings: { queued: 0, sandbox: 0, firstRequest: null, agent: 0, total: 0 },
  sandbox: "cold",
  pool: null,
  rawOutput: null,
  role: null,
});

describe("bridge", () => {
  it("runs tasks through the runner and aborts them", async () => {
    const runner: TaskRunner = (input, signal) =>
      input.prompt === "slow"
        ? new Promise((_, reject) => signal.addEventListener("abort", () => reject(new Error("aborted"))))
        : Promise.resolve(fakeResult(input.prompt));
    const registry = new TaskRegistry(runner);
    const quick = registry.start({ prompt: "hello" });
    expect((await quick.finished).status).toBe("done");
    const slow = registry.start({ prompt: "slow" });
    expect(registry.get(slow.task.id)?.status).toBe("running");
    expect((await registry.abort(slow.task.id))?.status).toBe("aborted");
    expect(registry.list()).toHaveLength(2);
  });

  it("checks bearer tokens exactly and keeps the token file private", async () => {
    const dir = await mkdtemp(join(tmpdir(), "ocbox-bridge-"));
    try {
      const { token, file } = await ensureBridgeToken(dir);
      expect((await ensureBridgeToken(dir)).token).toBe(token);
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      expect(bearerMatches(`Bearer ${token}`, token)).toBe(true);
      expect(bearerMatches(`Bearer ${token}x`, token)).toBe(false);
      expect(bearerMatches(undefined, token)).toBe(false);
      expect(bearerMatches("Bearer ", "")).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("serves the tools over streamable HTTP and refuses a wrong token", async () => {
    const registry = new TaskRegistry((input) => Promise.resolve(fakeResult(input.prompt)));
    const http = await startBridgeHttp(
      () => createBridgeServer({ registry, listSandboxes: () => Promise.resolve([]) }),
      { token: "right-token" },
    );
    try {
      const connect = async (token: string) => {
        const client = new Client({ name: "test", version: "1" });
        await client.connect(
          new StreamableHTTPClientTransport(new URL(http.url), {
            requestInit: { headers: { Authorization: `Bearer ${token}` } },
          }),
        );
        return client;
      };
      await expect(connect("wrong-token")).rejects.toThrow();
      const client = await connect("right-token");
      const tools = await client.listTools();
      expect(tools.tools.map((t) => t.name).sort()).toEqual([...BRIDGE_TOOLS].sort());
      const r = await client.callTool({ name: "delegate_task", arguments: { prompt: "hi" } });
      const text = (r.content as Array<{ text: string }>)[0]?.text ?? "";
      expect(JSON.parse(text)).toMatchObject({ status: "done", outcome: "COMPLETE" });
      await client.close();
    } finally {
      await http.close();
    }
  });
});

describe("agent MCP servers (G5)", () => {
  const egress = { allow: [".example.com"], hostPorts: [7000] };
  it("sorts local and remote servers and explains unreachable ones", () => {
    const report = checkMcpServers(
      {
        mcp: {
          files: { type: "local", command: ["mcp-files"] },
          docs: { type: "remote", url: "https://mcp.example.com/sse" },
          other: { type: "remote", url: "https://mcp.other.org/" },
          hostside: { type: "remote", url: "http://127.0.0.1:7000/mcp" },
          off: { type: "remote", url: "https://x.org", enabled: false },
        },
      },
      egress,
    );
    expect(report.local).toEqual(["files"]);
    expect(report.disabled).toEqual(["off"]);
    expect(report.remote.map((r) => [r.name, r.allowedBy])).toEqual([
      ["docs", ".example.com"],
      ["other", null],
      ["hostside", "egress.hostPorts"],
    ]);
    expect(report.remote[1]?.fix).toContain("mcp.other.org");
  });

  it("refuses inline secrets and accepts {env:VAR}", () => {
    expect(inlineSecret("API_KEY", "{env:API_KEY}")).toBe(false);
    expect(inlineSecret("Authorization", "Bearer {env:TOKEN}")).toBe(false);
    expect(inlineSecret("LOG_LEVEL", "debug")).toBe(false);
    expect(inlineSecret("API_KEY", "abc123")).toBe(true);
    let fix = "";
    try {
      checkMcpServers(
        {
          mcp: {
            s: {
              type: "remote",
              url: "https://a.example.com",
              headers: { Authorization: "Bearer sk-abcdefghijklmnop1234" },
            },
          },
        },
        egress,
      );
    } catch (e) {
      fix = (e as OcboxError).fix ?? "";
    }
    expect(fix).toContain("{env:AUTHORIZATION}");
  });
});

describe("autonomous mode (G4)", () => {
  it("allows everything, including what the project's config asks for", () => {
    const p = JSON.parse(
      autonomousPermission({ permission: { bash: "ask", custom_tool: { "*": "deny" } } }),
    ) as Record<string, string>;
    expect(p["*"]).toBe("allow");
    expect(p.bash).toBe("allow");
    expect(p.custom_tool).toBe("allow");
    expect(Object.values(p).every((v) => v === "allow")).toBe(true);
  });

  it("says in the startup summary that hardening and egress are unchanged", () => {
    const lines = startupSummary({
      sandboxId: "x",
      project: "/p",
      url: "u",
      env: { passed: [], skipped: [] },
      forwardPorts: [],
      stateDir: "/s",
      readyS: 1,
      detached: true,
      hookRan: false,
      autonomous: true,
    });
    expect(lines.join("\n")).toMatch(/autonomous.*hardening.*egress allowlist are unchanged/);
  });
});

describe("scan (G6)", () => {
  it("compares Debian versions", () => {
    expect(compareDebianVersions("1.0", "1.0")).toBe(0);
    expect(compareDebianVersions("1.0~rc1", "1.0")).toBeLessThan(0);
    expect(compareDebianVersions("1:0.9", "2.0")).toBeGreaterThan(0);
    expect(compareDebianVersions("2.36-9+deb12u4", "2.36-9+deb12u10")).toBeLessThan(0);
    expect(compareDebianVersions("1.2.10", "1.2.9")).toBeGreaterThan(0);
    expect(compareDebianVersions("1.0-1", "1.0-1a")).toBeLessThan(0);
  });

  it("matches packages by source against the tracker for the release", () => {
    const pkgs = parseDpkgQuery(
      "libc6\t2.36-9+deb12u4\tglibc\ncurl\t7.88.1-10\t\nbash\t5.2.15-2+b2\tbash (5.2.15-2)\n",
    );
    expect(pkgs.map((p) => [p.name, p.source])).toEqual([
      ["bash", "bash"],
      ["curl", "curl"],
      ["libc6", "glibc"],
    ]);
    const findings = matchVulnerabilities(
      pkgs,
      {
        glibc: {
          "CVE-1": {
            releases: { bookworm: { status: "resolved", fixed_version: "2.36-9+deb12u7", urgency: "high" } },
          },
        },
        curl: {
          "CVE-2": { releases: { bookworm: { status: "open", urgency: "not yet assigned" } } },
          "CVE-3": { releases: { bookworm: { status: "resolved", fixed_version: "7.88.1-1" } } },
        },
        bash: { "CVE-4": { releases: { trixie: { status: "open" } } } },
      },
      "bookworm",
    );
    expect(findings.map((f) => [f.cve, f.package, f.status])).toEqual([
      ["CVE-2", "curl", "open"],
      ["CVE-1", "libc6", "fixed-later"],
    ]);
  });
});
