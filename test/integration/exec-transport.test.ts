/**
 * Issue 14 item 3 on the shared engine, with the "exec" transport forced: the server is reached
 * only through exec'd relays into the sidecar (nothing is published on the engine host), the web
 * UI answers through a local relay, the agent's model on this process's loopback is reached
 * through the reverse relay (no host relay container), and a task runs end to end.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { ensureImages } from "../../src/image/build.js";
import { AGENT_UID } from "../../src/image/dockerfile.js";
import { runTask } from "../../src/executor/prepare.js";
import { startWebFront } from "../../src/project/web-front.js";
import { chooseEndpoint, dockerClient } from "../../src/runtime/connect.js";
import { DockerEngine } from "../../src/runtime/docker-engine.js";
import { LABEL } from "../../src/runtime/labels.js";
import { scriptedOpencodeConfig } from "../../src/scripted-model/opencode-config.js";
import { startScriptedModel } from "../../src/scripted-model/server.js";
import { DEFAULT_LIMITS, agentUserFor, currentHostUser, type SandboxSpec } from "../../src/sandbox/spec.js";
import { newRunId, startSandbox } from "../../src/sandbox/start.js";

const engine = new DockerEngine();
// dockerode for the inspections the Engine interface does not offer, reached the way ocbox reaches
// the engine (DOCKER_HOST=ssh://… included: the leg-ssh CI leg runs this file through one).
const docker = dockerClient(chooseEndpoint(process.env));

afterAll(async () => {
  expect(await engine.listContainers([`${LABEL.ownerPid}=${process.pid}`], true)).toEqual([]);
});

const writeHello = (file: string, probe?: string) => ({
  turns: [
    ...(probe
      ? [{ toolCalls: [{ name: "bash", arguments: { command: probe, description: "probe" } }] }]
      : []),
    { toolCalls: [{ name: "write", arguments: { filePath: file, content: "hello over exec\n" } }] },
    { text: 'Done.\n```json\n{"outcome":"COMPLETE","summary":"done"}\n```' },
  ],
});

it("exec transport: nothing published, no host relay; the web UI and the agent's loopback model answer over the engine connection", async () => {
  const images = await ensureImages(engine);
  const ws = mkdtempSync(join(tmpdir(), "ocbox-exec-transport-"));
  // A listener on this machine that the plan does not list: the agent tries it by every path.
  let unlistedHits = 0;
  const unlisted = createServer((c) => {
    unlistedHits++;
    c.destroy();
  });
  await new Promise<void>((r) => unlisted.listen(0, "127.0.0.1", () => r()));
  const port = (unlisted.address() as AddressInfo).port;
  const probe = [
    `curl -s -m 3 http://127.0.0.1:${port}/`,
    `socat -T 3 - UNIX-CONNECT:/run/ocbox/sock/fwd-${port}.sock </dev/null`,
    "for s in /run/ocbox/sock/*.sock; do printf 'ocbox-back 0123456789abcdef\\n' | socat -T 2 - UNIX-CONNECT:$s; done",
    "true",
  ].join("; ");
  const model = await startScriptedModel({ scenario: writeHello("/workspace/hello.txt", probe) });
  const host = currentHostUser();
  const spec: SandboxSpec = {
    sandboxId: "it-exec",
    runId: newRunId(),
    workspace: ws,
    images: { sandbox: images.sandbox.tag, egress: images.egress.tag },
    agentUser: agentUserFor(host, AGENT_UID),
    hostUser: host,
    forwardPorts: [model.port],
    hostPort: 0,
    serverTransport: "exec",
    env: {},
    opencodeConfig: { ...scriptedOpencodeConfig(model.url), permission: { "*": "allow" } },
    limits: DEFAULT_LIMITS,
    server: { logLevel: "INFO", printLogs: true },
    lifetime: "session",
    readyTimeoutMs: 90_000,
  };
  const sandbox = await startSandbox(engine, spec);
  try {
    expect(sandbox.transport).toBe("exec");
    // Nothing of this sandbox listens on the engine host's network, and no container joins it.
    const mine = await engine.listContainers([`${LABEL.run}=${spec.runId}`]);
    expect(mine.map((c) => c.labels[LABEL.role]).sort()).toEqual(["agent", "egress"]);
    for (const c of mine) {
      const info = await docker.getContainer(c.id).inspect();
      expect(info.HostConfig.NetworkMode).not.toBe("host");
      const bindings = (info.HostConfig.PortBindings ?? {}) as Record<string, unknown[]>;
      expect(Object.values(bindings).flat()).toEqual([]);
      expect(
        Object.values(info.NetworkSettings.Ports ?? {})
          .flat()
          .filter(Boolean),
      ).toEqual([]);
    }

    // The web UI, through a local relay and the login front, as a browser would reach it.
    const local = await sandbox.localServer();
    const front = await startWebFront({ url: local.url, password: sandbox.server.password });
    try {
      const login = await fetch(front.loginUrl(), { redirect: "manual" });
      expect(login.status).toBe(303);
      const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
      const page = await fetch(`${front.url}/`, { headers: { cookie, accept: "text/html" } });
      expect(page.status).toBe(200);
      expect(page.headers.get("content-type") ?? "").toContain("text/html");
      const health = await fetch(`${front.url}/global/health`, { headers: { cookie } });
      expect(await health.json()).toMatchObject({ healthy: true });
    } finally {
      await front.close();
      await local.close();
    }

    // Our own client over the exec dispatcher; the model call comes back over the reverse relay.
    const client = await sandbox.client();
    const id = (await client.session.create({})).data?.id;
    if (!id) throw new Error("no session");
    const reply = await client.session.prompt({
      sessionID: id,
      parts: [{ type: "text", text: "write hello" }],
    });
    const text = (reply.data?.parts ?? []).map((p) => ("text" in p ? p.text : "")).join("");
    expect(text).toContain('"outcome":"COMPLETE"');
    expect(model.requests.length).toBeGreaterThan(0);
  } finally {
    await sandbox.stop();
    await model.close();
    unlisted.close();
  }
  // The host is unchanged: the unlisted port saw no connection; the listed one (the model) worked.
  expect(unlistedHits).toBe(0);
  expect(readFileSync(join(ws, "hello.txt"), "utf8")).toBe("hello over exec\n");
  expect(await engine.listContainers([`${LABEL.run}=${spec.runId}`], true)).toEqual([]);
});

it("exec transport: runTask runs a task end to end (OCBOX_SERVER_TRANSPORT=exec)", async () => {
  const images = await ensureImages(engine);
  const ws = mkdtempSync(join(tmpdir(), "ocbox-exec-task-"));
  writeFileSync(join(ws, "README.md"), "a task workspace\n");
  const model = await startScriptedModel({ scenario: writeHello("/workspace/task.txt") });
  const before = process.env.OCBOX_SERVER_TRANSPORT;
  process.env.OCBOX_SERVER_TRANSPORT = "exec";
  try {
    const result = await runTask({
      workspace: ws,
      prompt: "Do the task.",
      model: "scripted/scripted",
      opencodeConfig: scriptedOpencodeConfig(model.url),
      engine,
      images,
    });
    expect(result).toMatchObject({ outcome: "COMPLETE", failureReason: null });
    expect(readFileSync(join(ws, "task.txt"), "utf8")).toBe("hello over exec\n");
  } finally {
    if (before === undefined) delete process.env.OCBOX_SERVER_TRANSPORT;
    else process.env.OCBOX_SERVER_TRANSPORT = before;
    await model.close();
  }
});
