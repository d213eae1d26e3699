/**
 * Operator features against the real engine, image and opencode (FEATURES G1–G5):
 *   - the dashboard (Chromium via playwright-core) refuses without its one-time login, then shows
 *     two running sandboxes and an egress denial the test provoked; the monitors it runs for a
 *     detached sandbox write JSONL, and the listener monitor reports a listener the agent opened
 *     with a scripted tool call;
 *   - the conductor bridge over streamable HTTP and over stdio, with the official MCP SDK client:
 *     the tools are listed, delegate_task runs a scripted task in a sandbox and returns COMPLETE, a
 *     call without (or with a wrong) token is refused;
 *   - autonomous mode: a tool call the project's config says to ask about runs without asking.
 * After each test no labelled container of these projects is left.
 */
import { copyFile, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { chromium } from "playwright-core";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { LABEL } from "../../src/runtime/labels.js";
import { startScriptedModel, type ScriptedModel } from "../../src/scripted-model/server.js";
import { CLI, ocbox, type CliResult } from "../helpers/cli.js";
import {
  engine,
  makeProject,
  removeHome,
  serverClient,
  tempHome,
  type TestProject,
} from "../helpers/project.js";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const LISTEN_PORT = 8765;
const CONTRACT = { outcome: "COMPLETE", summary: "done through the bridge" };

let model: ScriptedModel;
let home: string;
const up: TestProject[] = [];
const children: Array<ReturnType<typeof ocbox>> = [];

beforeAll(async () => {
  model = await startScriptedModel({
    scenario: {
      models: ["scripted"],
      turns: [
        ...Array.from({ length: 6 }, () => [
          { match: "bridge-task", structured: CONTRACT },
          {
            match: "open-listener",
            toolCalls: [
              {
                name: "bash",
                arguments: {
                  command: `nohup python3 -m http.server ${LISTEN_PORT} --bind 127.0.0.1 >/dev/null 2>&1 &`,
                  description: "start a dev server",
                },
              },
            ],
          },
          { match: "open-listener", text: "listening" },
          {
            match: "autonomous-task",
            toolCalls: [
              {
                name: "bash",
                arguments: { command: "echo ran > /workspace/auto.txt", description: "write" },
              },
            ],
          },
          { match: "autonomous-task", text: "wrote it" },
        ]).flat(),
      ],
    },
  });
  home = await tempHome();
});

/** Labelled containers whose workspace is one of this file's projects. */
async function leftovers() {
  const all = await engine.listContainers([`${LABEL.managed}=true`], true);
  return all.filter((c) => (c.labels[LABEL.workspace] ?? "").startsWith(home)).map((c) => c.name);
}

afterEach(async () => {
  for (const c of children.splice(0)) {
    c.child.kill("SIGINT");
    await c;
  }
  for (const p of up.splice(0)) await p.run(["down"]);
  expect(await leftovers()).toEqual([]);
});

afterAll(async () => {
  await model?.close();
  await removeHome(home);
});

async function project(name: string, yaml: string, opencodeJsonc?: string): Promise<TestProject> {
  const p = await makeProject(home, name);
  expect((await p.run(["init", "--yes"])).code).toBe(0);
  await writeFile(
    join(p.root, "ocbox.yaml"),
    `model:\n  baseURL: ${model.url}\n  models:\n    scripted: {}\n${yaml}`,
  );
  if (opencodeJsonc !== undefined) await writeFile(join(p.root, "opencode.jsonc"), opencodeJsonc);
  return p;
}

async function startDetached(p: TestProject, args: string[] = []): Promise<CliResult> {
  const r = await p.run(["up", "--detach", "--approve-hook", ...args]);
  expect(r.code, r.stderr).toBe(0);
  up.push(p);
  return r;
}

async function prompt(p: TestProject, text: string) {
  const status = JSON.parse((await p.run(["status", "--json"])).stdout) as { sandbox: { url: string } };
  const client = serverClient(status.sandbox.url, await p.password());
  const session = await client.session.create({ title: text });
  const sessionID = session.data?.id as string;
  const reply = await client.session.prompt({ sessionID, parts: [{ type: "text", text }] });
  return (reply.data?.parts ?? []).map((x) => (x.type === "text" ? x.text : "")).join("");
}

async function jsonl(file: string): Promise<Array<Record<string, unknown>>> {
  const text = await readFile(file, "utf8").catch(() => "");
  return text
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

it("dashboard: refuses without login, shows two sandboxes and a provoked denial; monitors write JSONL and see the agent's listener", async () => {
  const monitored = await project(
    "monitored",
    "monitors:\n  listeners: { enabled: true, intervalS: 1 }\n  resources: { enabled: true, intervalS: 1 }\n  summary: { enabled: true, intervalS: 3 }\n",
  );
  const plain = await project("plain", "");
  await Promise.all([startDetached(monitored), startDetached(plain)]);

  // An egress denial, provoked from inside.
  const denied = await monitored.run([
    "exec",
    "--",
    "curl",
    "-s",
    "-o",
    "/dev/null",
    "-w",
    "%{http_code}",
    "http://denied.example/",
  ]);
  expect(denied.stdout).toBe("403");

  const dash = ocbox(["dashboard", "--print", "--interval", "1"], { cwd: home, env: monitored.env });
  children.push(dash);
  const loginUrl = await new Promise<string>((resolve, reject) => {
    createInterface({ input: dash.child.stdout as NodeJS.ReadableStream }).once("line", resolve);
    dash.child.once("exit", () => reject(new Error("ocbox dashboard exited before printing a link")));
  });
  expect(loginUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/__ocbox\/login\?code=[\w-]+$/);
  const origin = new URL(loginUrl).origin;

  // The agent opens a listener through a scripted tool call.
  expect(await prompt(monitored, "open-listener please")).toContain("listening");

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
  try {
    const page = await (await browser.newContext()).newPage();
    const refused = await page.goto(origin);
    expect(refused?.status()).toBe(401);
    expect(await page.textContent("body")).toContain("Not logged in");

    await page.goto(loginUrl);
    const [a, b] = [await monitored.sandboxId(), await plain.sandboxId()];
    await page.waitForSelector(`tr[data-sandbox="${a}"]`);
    await page.waitForSelector(`tr[data-sandbox="${b}"]`);
    // The page's CSP forbids eval, so wait with locators rather than string predicates.
    const row = (id: string, what: string) => page.locator(`tr[data-sandbox="${id}"] ${what}`);
    await row(a, "td.egress").filter({ hasText: "denied.example" }).waitFor({ timeout: 30_000 });
    expect(await row(a, "td.egress").textContent()).toMatch(/denied\.example.*1 denied/);
    await row(a, "td.listeners")
      .filter({ hasText: `:${LISTEN_PORT}` })
      .waitFor({ timeout: 30_000 });
    expect(await row(a, "td.listeners").textContent()).toMatch(new RegExp(`:${LISTEN_PORT}.*unexpected`));
    // Charts have points once two samples are in.
    await until("two CPU samples", async () => {
      const points = (await row(a, "svg.chart-cpu polyline").getAttribute("points")) ?? "";
      return points.split(" ").length >= 2 ? true : undefined;
    });
    const html = await page.content();
    expect(html).not.toContain(await monitored.password());
    const shot = join(home, "dashboard.png");
    await page.screenshot({ path: shot, fullPage: true });
    await copyFile(shot, "/tmp/ocbox-dashboard.png").catch(() => undefined);
  } finally {
    await browser.close();
  }

  // The monitors the dashboard runs for the detached sandbox wrote their JSONL.
  const files = join(await monitored.stateDir(), "monitors");
  const scan = await until("the listener in listeners.jsonl", async () => {
    const rows = await jsonl(join(files, "listeners.jsonl"));
    return rows.find((r) =>
      ((r.listeners as Array<{ port: number; expected: boolean }> | undefined) ?? []).some(
        (l) => l.port === LISTEN_PORT && !l.expected,
      ),
    );
  });
  expect(scan.unexpected).toBeGreaterThanOrEqual(1);
  const resources = await jsonl(join(files, "resources.jsonl"));
  expect(resources.length).toBeGreaterThan(0);
  expect(typeof resources.at(-1)?.memoryBytes).toBe("number");
  expect(typeof resources.at(-1)?.pids).toBe("number");
  const summary = await until("a summary with the denial", async () =>
    (await jsonl(join(files, "summary.jsonl"))).find(
      (r) => ((r.egress as { denied?: number } | undefined)?.denied ?? 0) >= 1,
    ),
  );
  expect(summary.verdict).toBe("attention");
});

async function delegateOver(client: Client) {
  const tools = await client.listTools();
  expect(tools.tools.map((t) => t.name).sort()).toEqual([
    "abort_task",
    "delegate_task",
    "list_sandboxes",
    "task_status",
  ]);
  const r = await client.callTool(
    { name: "delegate_task", arguments: { prompt: "bridge-task: do it" } },
    undefined,
    {
      timeout: 300_000,
    },
  );
  const result = JSON.parse((r.content as Array<{ text: string }>)[0]?.text ?? "{}") as Record<
    string,
    unknown
  >;
  expect(result, JSON.stringify(result)).toMatchObject({
    status: "done",
    outcome: "COMPLETE",
    contract: CONTRACT,
  });
  const status = await client.callTool({
    name: "task_status",
    arguments: { taskId: result.taskId as string },
  });
  expect(JSON.parse((status.content as Array<{ text: string }>)[0]?.text ?? "{}")).toMatchObject({
    status: "done",
  });
}

it("bridge: streamable HTTP with a bearer token, and stdio; delegate_task returns COMPLETE", async () => {
  const p = await project("conductor", "");
  const bridge = ocbox(["bridge", "--json", "--approve-config"], { cwd: p.root, env: p.env });
  children.push(bridge);
  let out = "";
  const info = await new Promise<{ url: string; tokenFile: string }>((resolve, reject) => {
    bridge.child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      try {
        resolve(JSON.parse(out) as { url: string; tokenFile: string });
      } catch {
        // not complete yet
      }
    });
    bridge.child.once("exit", () => reject(new Error(`ocbox bridge exited: ${out}`)));
  });
  expect(info.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
  const token = (await readFile(info.tokenFile, "utf8")).trim();

  const connect = async (headers: Record<string, string>) => {
    const client = new Client({ name: "operator-test", version: "1" });
    await client.connect(new StreamableHTTPClientTransport(new URL(info.url), { requestInit: { headers } }));
    return client;
  };
  await expect(connect({})).rejects.toThrow(/401|token/i);
  await expect(connect({ Authorization: "Bearer wrong" })).rejects.toThrow(/401|token/i);
  const raw = await fetch(info.url, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
  });
  expect(raw.status).toBe(401);

  const http = await connect({ Authorization: `Bearer ${token}` });
  try {
    await delegateOver(http);
  } finally {
    await http.close();
  }

  const stdio = new Client({ name: "operator-test-stdio", version: "1" });
  await stdio.connect(
    new StdioClientTransport({
      command: process.execPath,
      args: [CLI, "bridge", "--stdio", "--approve-config"],
      cwd: p.root,
      env: { ...(process.env as Record<string, string>), ...(p.env as Record<string, string>) },
      stderr: "pipe",
    }),
  );
  try {
    await delegateOver(stdio);
    const list = await stdio.callTool({ name: "list_sandboxes", arguments: {} });
    expect((list.content as Array<{ text: string }>)[0]?.text).toContain("sandboxes");
  } finally {
    await stdio.close();
  }
});

it("autonomous: `up --autonomous` says the hardening is unchanged, and a tool call the config asks about runs without asking", async () => {
  const p = await project("autonomous", "", '{ "permission": { "bash": "ask" } }\n');
  const r = await startDetached(p, ["--autonomous"]);
  expect(r.stdout).toMatch(/autonomous: every OpenCode permission is approved inside the sandbox/);
  expect(r.stdout).toMatch(/hardening profile and the egress allowlist are unchanged/);
  const text = await Promise.race([
    prompt(p, "autonomous-task"),
    new Promise<string>((_, reject) =>
      setTimeout(() => reject(new Error("the tool call waited for a permission")), 90_000),
    ),
  ]);
  expect(text).toContain("wrote it");
  expect((await readFile(join(p.root, "auto.txt"), "utf8")).trim()).toBe("ran");
});

it("check and scan: config, approval, images; packages listed, never 'no vulnerabilities' without data", async () => {
  const p = await project("checked", "");
  await p.run(["up", "--detach", "--approve-hook"]).then(() => p.run(["down"])); // approves and builds
  const ok = await p.run(["check", "--json"]);
  expect(ok.code, ok.stdout + ok.stderr).toBe(0);
  const report = JSON.parse(ok.stdout) as { items: Array<{ name: string; ok: boolean }> };
  expect(report.items.map((i) => [i.name, i.ok])).toEqual([
    ["config", true],
    ["approval", true],
    ["mcp", true],
    ["images", true],
  ]);
  await writeFile(join(p.root, "ocbox.yaml"), "egress:\n  allow: [.example.com]\n", { flag: "a" });
  const changed = await p.run(["check"]);
  expect(changed.code).toBe(1);
  expect(changed.stdout).toMatch(/FAIL approval/);

  const scan = ocbox(["scan", "--json"], { cwd: p.root, env: p.env });
  const unchecked = await scan;
  expect(unchecked.code, unchecked.stderr).toBe(0);
  const u = JSON.parse(unchecked.stdout) as {
    packages: Array<{ name: string }>;
    findings: unknown;
    notes: string[];
  };
  expect(u.packages.map((x) => x.name)).toContain("bash");
  expect(u.findings).toBeNull();
  expect(u.notes.join(" ")).toMatch(/NOT checked/);
  const scanners = await engine.listContainers([`${LABEL.managed}=true`, `${LABEL.sandbox}=scan`], true);
  expect(scanners.filter((c) => c.labels[LABEL.ownerPid] === String(scan.child.pid))).toEqual([]);

  const feed = join(home, "tracker.json");
  await writeFile(
    feed,
    JSON.stringify({
      bash: { "CVE-2099-1": { releases: { bookworm: { status: "open", urgency: "low" } } } },
    }),
  );
  const checked = await p.run(["scan", "--json"], { OCBOX_VULN_FEED: feed });
  const c = JSON.parse(checked.stdout) as { findings: Array<{ cve: string }> };
  expect(checked.code).toBe(1);
  expect(c.findings.map((f) => f.cve)).toEqual(["CVE-2099-1"]);
});
