import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import { ensureImages } from "../../src/image/build.js";
import { AGENT_UID } from "../../src/image/dockerfile.js";
import { DockerEngine } from "../../src/runtime/docker-engine.js";
import { LABEL } from "../../src/runtime/labels.js";
import { startScriptedModel } from "../../src/scripted-model/server.js";
import { DEFAULT_LIMITS, agentUserFor, currentHostUser, type SandboxSpec } from "../../src/sandbox/spec.js";
import { newRunId, startSandbox } from "../../src/sandbox/start.js";

it("the real opencode in a sandbox edits the workspace through a scripted model, offline, and leaves nothing behind", async () => {
  const engine = new DockerEngine();
  const images = await ensureImages(engine);
  const ws = mkdtempSync(join(tmpdir(), "ocbox-it-"));
  writeFileSync(join(ws, "README.md"), "hi\n");
  const model = await startScriptedModel({
    scenario: {
      turns: [
        {
          toolCalls: [
            {
              name: "write",
              arguments: { filePath: "/workspace/hello.txt", content: "hello from the agent\n" },
            },
          ],
        },
        { text: 'Done.\n```json\n{"outcome":"COMPLETE"}\n```' },
      ],
    },
  });
  const host = currentHostUser();
  const spec: SandboxSpec = {
    sandboxId: "it",
    runId: newRunId(),
    workspace: ws,
    images: { sandbox: images.sandbox.tag, egress: images.egress.tag },
    agentUser: agentUserFor(host, AGENT_UID),
    hostUser: host,
    forwardPorts: [model.port],
    hostPort: 0,
    env: {},
    opencodeConfig: {
      model: "scripted/scripted",
      small_model: "scripted/scripted",
      permission: { "*": "allow" },
      provider: {
        scripted: {
          npm: "@ai-sdk/openai-compatible",
          name: "Scripted",
          options: { baseURL: model.url, apiKey: "dummy" },
          models: { scripted: { name: "scripted" } },
        },
      },
    },
    limits: DEFAULT_LIMITS,
    server: { logLevel: "INFO", printLogs: true },
    lifetime: "session",
    readyTimeoutMs: 90_000,
  };
  const sandbox = await startSandbox(engine, spec);
  try {
    const client = await sandbox.client();
    const session = await client.session.create({});
    const id = session.data?.id;
    if (!id) throw new Error("no session");
    const reply = await client.session.prompt({
      sessionID: id,
      parts: [{ type: "text", text: "write hello" }],
    });
    const text = (reply.data?.parts ?? []).map((p) => ("text" in p ? p.text : "")).join("");
    expect(text).toContain('"outcome":"COMPLETE"');
    // Without credentials the server refuses.
    expect((await (sandbox.server.fetch ?? fetch)(`${sandbox.server.url}/global/health`)).status).toBe(401);
    // No outside connection was even attempted: no registry install, no models fetch.
    expect(sandbox.recentLogs().join("\n")).not.toMatch(/registry\.npmjs|models\.dev|BunInstallFailed/);
  } finally {
    await sandbox.stop();
    await model.close();
  }
  expect(readFileSync(join(ws, "hello.txt"), "utf8")).toBe("hello from the agent\n");
  expect(statSync(join(ws, "hello.txt")).uid).toBe(host.uid);
  expect(await engine.listContainers([`${LABEL.run}=${spec.runId}`])).toEqual([]);
});

it("a server that never gets ready fails with the tail of its log, and its containers are removed", async () => {
  const engine = new DockerEngine();
  const images = await ensureImages(engine);
  const ws = mkdtempSync(join(tmpdir(), "ocbox-it-"));
  const host = currentHostUser();
  const attempt = async (server: SandboxSpec["server"], readyTimeoutMs: number) => {
    const runId = newRunId();
    const error = await startSandbox(engine, {
      sandboxId: "it-broken",
      runId,
      workspace: ws,
      images: { sandbox: images.sandbox.tag, egress: images.egress.tag },
      agentUser: agentUserFor(host, AGENT_UID),
      hostUser: host,
      forwardPorts: [],
      hostPort: 0,
      env: {},
      limits: DEFAULT_LIMITS,
      server,
      lifetime: "session",
      readyTimeoutMs,
    }).then(
      () => undefined,
      (e: unknown) => e as { code?: string; message: string; detail?: string; fix?: string },
    );
    expect(await engine.listContainers([`${LABEL.run}=${runId}`], true)).toEqual([]);
    return error;
  };
  // The server process dies at start (opencode rejects the option): the error says so, with its log.
  const died = await attempt(
    { logLevel: "LOUD" as SandboxSpec["server"]["logLevel"], printLogs: true },
    60_000,
  );
  expect(died?.code).toBe("SANDBOX_NOT_READY");
  expect(died?.message).toMatch(/exited .* before the server was ready/);
  expect(died?.detail).toMatch(/last lines of the sandbox's log:[\s\S]*log-level/);
  expect(died?.fix).toMatch(/removed/);
  // The server is too slow for the deadline.
  const slow = await attempt({ logLevel: "INFO", printLogs: true }, 300);
  expect(slow?.code).toBe("SANDBOX_NOT_READY");
  expect(slow?.message).toMatch(/did not start listening in 0.3 s/);
});
