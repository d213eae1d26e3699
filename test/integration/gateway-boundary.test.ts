/**
 * Host-boundary items 8 and 9 through the built `ocbox` and a real sandbox.
 *   8. The model gateway holds the real key. Nothing on the host's loopback may use it (the
 *      gateway port takes only the sidecar relay's client certificate), and the agent may use it
 *      for inference only: files, batches and fine-tuning are 403, logged as decisions, and the
 *      upstream (a capture server standing in for the provider) never sees the key there. A chat
 *      completion still works end to end through OpenCode.
 *   9. The host auth.json holds three providers: one the config uses, one behind the gateway and
 *      one unused. Inside, only the first is present; the host file is untouched.
 */
import { randomBytes } from "node:crypto";
import { chmod, mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { createServer as createHttpServer, request as httpRequest, type Server } from "node:http";
import { connect as netConnect } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Decision } from "../../src/egress/decisions.js";
import { readEgressControl } from "../../src/egress/control.js";
import { LABEL } from "../../src/runtime/labels.js";
import { startScriptedModel, type ScriptedModel } from "../../src/scripted-model/server.js";
import {
  containersOf,
  makeProject,
  removeHome,
  serverClient,
  tempHome,
  type TestProject,
} from "../helpers/project.js";

const realKey = `sk-ocbox-boundary-${randomBytes(12).toString("hex")}`;
const GATEWAY_PORT = 9103;
let model: ScriptedModel;
let upstream: Server;
let upstreamPort = 0;
/** Every request the provider's stand-in received. */
const seen: Array<{ method: string; path: string; auth: string }> = [];
let home: string;
let p: TestProject;
let sandboxId = "";
let authFile = "";
const hostAuth = `${JSON.stringify(
  {
    used: { type: "api", key: "sk-used-provider" },
    local: { type: "api", key: "sk-gatewayed-provider" },
    unused: { type: "api", key: "sk-unused-provider" },
  },
  null,
  2,
)}\n`;

beforeAll(async () => {
  model = await startScriptedModel({
    scenario: {
      models: ["scripted"],
      turns: [{ match: "boundary-prompt", text: "answer through the gateway" }],
      side: [{ match: "title", text: "a title" }],
    },
  });
  // The provider's stand-in: inference goes on to the scripted model; any other path answers 200,
  // as a real provider would for a key that may use it.
  upstream = createHttpServer((req, res) => {
    seen.push({ method: req.method ?? "", path: req.url ?? "", auth: req.headers.authorization ?? "" });
    if (!/\/(chat\/completions|models)/.test(req.url ?? "")) {
      res.writeHead(200, { "content-type": "application/json" }).end('{"captured":true}');
      return;
    }
    const up = httpRequest(
      { host: "127.0.0.1", port: model.port, path: req.url, method: req.method, headers: req.headers },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    req.pipe(up);
  });
  await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", r));
  upstreamPort = (upstream.address() as { port: number }).port;

  home = await tempHome();
  p = await makeProject(home, "boundary");
  expect((await p.run(["init", "--yes", "--json"])).code).toBe(0);
  await writeFile(
    join(p.root, "ocbox.yaml"),
    [
      "egress:",
      "  restricted: true",
      "  gateways:",
      `    - upstream: http://127.0.0.1:${upstreamPort}`,
      `      port: ${GATEWAY_PORT}`,
      "      keyEnv: OCBOX_TEST_BOUNDARY_KEY",
      "model:",
      `  baseURL: http://127.0.0.1:${GATEWAY_PORT}/v1`,
      "  models:",
      "    scripted: {}",
      "autonomous: true",
      "",
    ].join("\n"),
  );
  // The project's OpenCode config names a second provider (not used for prompts here).
  await writeFile(
    join(p.root, "opencode.json"),
    JSON.stringify({
      provider: {
        used: {
          npm: "@ai-sdk/openai-compatible",
          options: { baseURL: "https://used.example/v1" },
          models: { m: {} },
        },
      },
    }),
  );
  await mkdir(join(home, "data", "opencode"), { recursive: true });
  authFile = join(home, "data", "opencode", "auth.json");
  await writeFile(authFile, hostAuth);
  await chmod(authFile, 0o640);
  const up = await p.run(["up", "--detach", "--approve-hook"], { OCBOX_TEST_BOUNDARY_KEY: realKey });
  expect(up.code, up.stderr).toBe(0);
  sandboxId = await p.sandboxId();
});

afterAll(async () => {
  if (p) await p.run(["down"]);
  if (sandboxId) expect(await containersOf([sandboxId])).toEqual([]);
  await model?.close();
  upstream?.close();
  if (home) await removeHome(home);
});

/** The squid port of the gateway on the host's loopback, from the sidecar's staged context. */
async function gatewayListenPort(): Promise<number> {
  const containers = await containersOf([sandboxId]);
  // The gateway's host port is in ocbox's control record, named by the egress container's label.
  const file = containers.find((c) => c.labels[LABEL.role] === "egress")?.labels[LABEL.egressControl];
  const control = await readEgressControl(file as string);
  const port = Number(Object.keys(control?.gatewayPorts ?? {})[0]);
  expect(port).toBeGreaterThan(0);
  return port;
}

/** A raw request to 127.0.0.1:port, plain or TLS without a client certificate: the first line back. */
function rawRequest(port: number, tls: boolean, path: string): Promise<string> {
  const text = `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1:${GATEWAY_PORT}\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`;
  return new Promise((resolve) => {
    let got = "";
    const done = (why: string) => resolve(got.split("\r\n")[0] || why);
    const opts = { host: "127.0.0.1", port, rejectUnauthorized: false };
    const sock = tls
      ? tlsConnect(opts, () => sock.write(text))
      : netConnect(port, "127.0.0.1", () => sock.write(text));
    sock.setTimeout(5000, () => sock.destroy());
    sock.on("data", (d: Buffer) => (got += d.toString("latin1")));
    sock.on("error", (e: Error) => done(`error: ${e.message}`));
    sock.on("close", () => done("closed"));
  });
}

it("from the host's loopback, the gateway port is useless without the relay's certificate", async () => {
  const port = await gatewayListenPort();
  const before = seen.length;
  const plain = await rawRequest(port, false, "/v1/chat/completions");
  const tlsNoCert = await rawRequest(port, true, "/v1/chat/completions");
  const files = await rawRequest(port, false, "/v1/files");
  for (const answer of [plain, tlsNoCert, files]) expect(answer).not.toMatch(/^HTTP\/1\.[01] 200/);
  await new Promise((r) => setTimeout(r, 300));
  expect(seen.slice(before)).toEqual([]);
});

it("inside, the agent gets inference only: files, batches and fine-tuning are 403 and never reach the provider", async () => {
  const before = seen.length;
  const base = `http://127.0.0.1:${GATEWAY_PORT}`;
  const curl = (args: string) =>
    `curl -s -o /dev/null -w '%{http_code}\\n' -H 'Authorization: Bearer placeholder' ${args}`;
  const r = await p.run([
    "exec",
    "--",
    "sh",
    "-c",
    [
      curl(`-X POST -d '{}' ${base}/v1/files`),
      curl(`${base}/v1/files`),
      curl(`-X POST -d '{}' ${base}/v1/fine_tuning/jobs`),
      curl(`-X POST -d '{}' ${base}/v1/batches`),
      curl(`-X DELETE ${base}/v1/models/scripted`),
      curl(`-X POST -d '{}' ${base}/v1/files/chat/completions`),
      curl(`-X POST -d '{}' -H 'Host: evil.example:${GATEWAY_PORT}' ${base}/v1/chat/completions`),
      // The relay's socket itself, skipping the agent-side TCP relay: the same gate.
      curl(`--unix-socket /run/ocbox/sock/fwd-${GATEWAY_PORT}.sock -X POST -d '{}' ${base}/v1/files`),
      curl(`${base}/v1/models`),
    ].join("; "),
  ]);
  expect(r.code, r.stderr).toBe(0);
  const codes = r.stdout.trim().split("\n");
  expect(codes).toEqual(["403", "403", "403", "403", "403", "403", "403", "403", "200"]);
  const reached = seen.slice(before);
  expect(reached.map((x) => `${x.method} ${x.path}`)).toEqual(["GET /v1/models"]);
  expect(reached.every((x) => x.auth === `Bearer ${realKey}`)).toBe(true);

  const log = JSON.parse((await p.run(["egress", "log", "--json"])).stdout) as { decisions: Decision[] };
  expect(log.decisions).toContainEqual(
    expect.objectContaining({ decision: "deny", method: "POST", path: "/v1/files" }),
  );
  expect(log.decisions).toContainEqual(
    expect.objectContaining({ decision: "deny", path: "/v1/fine_tuning/jobs" }),
  );
});

it("a chat completion works end to end through OpenCode; the provider sees only the real key", async () => {
  const before = seen.length;
  const status = JSON.parse((await p.run(["status", "--json"])).stdout) as { sandbox: { url: string } };
  const client = serverClient(status.sandbox.url, await p.password());
  const session = await client.session.create({ title: "boundary" });
  const reply = await client.session.prompt({
    sessionID: session.data?.id as string,
    parts: [{ type: "text", text: "boundary-prompt" }],
  });
  const text = (reply.data?.parts ?? []).map((x) => (x.type === "text" ? x.text : "")).join("");
  expect(text).toBe("answer through the gateway");
  const reached = seen.slice(before);
  expect(reached.some((x) => x.method === "POST" && x.path === "/v1/chat/completions")).toBe(true);
  expect(new Set(reached.map((x) => x.auth))).toEqual(new Set([`Bearer ${realKey}`]));
});

it("auth.json inside holds only the used provider that no gateway stands for; the host file is untouched", async () => {
  const r = await p.run(["exec", "--", "sh", "-c", "cat ~/.local/share/opencode/auth.json"]);
  expect(r.code, r.stderr).toBe(0);
  expect(Object.keys(JSON.parse(r.stdout) as object)).toEqual(["used"]);
  expect(r.stdout).not.toContain("sk-gatewayed-provider");
  expect(r.stdout).not.toContain("sk-unused-provider");
  expect(await readFile(authFile, "utf8")).toBe(hostAuth);
  expect((await stat(authFile)).mode & 0o7777).toBe(0o640);
});
