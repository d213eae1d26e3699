/**
 * FEATURES C9 against the real engine, the real sandbox image and the real opencode: with
 * `jq` allowed (the sandbox image lacks it), the agent's own bash tool runs `ocbox-apt install jq`
 * and then jq, as the non-root agent. Off-list names, options and versions are refused; the agent
 * keeps no root and cannot write the prefix; the helper is as hardened as the sidecar; nothing of
 * the sandbox is left after stop. The helper fetches from the image's Debian mirror (the same one
 * the image build used).
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Docker from "dockerode";
import { expect, it } from "vitest";
import { ensureImages } from "../../src/image/build.js";
import { APT_SOCKET } from "../../src/image/apt-scripts.js";
import { AGENT_UID, APT_PREFIX } from "../../src/image/dockerfile.js";
import { DockerEngine } from "../../src/runtime/docker-engine.js";
import { LABEL } from "../../src/runtime/labels.js";
import { startScriptedModel } from "../../src/scripted-model/server.js";
import { aptNames } from "../../src/sandbox/apt-helper.js";
import { DEFAULT_LIMITS, agentUserFor, currentHostUser, type SandboxSpec } from "../../src/sandbox/spec.js";
import { newRunId, startSandbox } from "../../src/sandbox/start.js";

const INSTALL_AND_RUN = [
  "ocbox-apt install jq > /workspace/apt.log 2>&1; echo rc=$? >> /workspace/apt.log",
  `echo '{"a":41}' | jq '.a+1' > /workspace/jq.out 2>&1`,
  "id -u > /workspace/uid.out",
].join("; ");

it("the agent installs an allowed package with ocbox-apt and runs it without root; nothing else is accepted", async () => {
  const engine = new DockerEngine();
  const docker = new Docker();
  const images = await ensureImages(engine);
  const ws = mkdtempSync(join(tmpdir(), "ocbox-apt-it-"));
  const model = await startScriptedModel({
    scenario: {
      turns: [
        { toolCalls: [{ name: "bash", arguments: { command: INSTALL_AND_RUN, description: "install jq" } }] },
        { text: 'Done.\n```json\n{"outcome":"COMPLETE"}\n```' },
      ],
    },
  });
  const host = currentHostUser();
  const agentUser = agentUserFor(host, AGENT_UID);
  const spec: SandboxSpec = {
    sandboxId: "it-apt",
    runId: newRunId(),
    workspace: ws,
    images: { sandbox: images.sandbox.tag, egress: images.egress.tag },
    agentUser,
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
    aptAllow: ["jq"],
    limits: DEFAULT_LIMITS,
    server: { logLevel: "INFO", printLogs: true },
    lifetime: "session",
    readyTimeoutMs: 90_000,
  };
  const sandbox = await startSandbox(engine, spec);
  const sh = (script: string) => engine.exec(sandbox.agentId, ["bash", "-c", script]);
  try {
    // The image lacks jq: whatever the agent runs comes from the helper.
    expect((await sh("command -v jq")).exitCode).not.toBe(0);

    // The helper: a third container of the run, the agent's uid, hardened like the sidecar.
    const helper = (await engine.listContainers([`${LABEL.run}=${spec.runId}`])).find(
      (c) => c.labels[LABEL.role] === "apt",
    );
    expect(helper?.name).toBe(aptNames(spec).helper);
    const info = await docker.getContainer(helper?.id ?? "").inspect();
    expect(info.Config.User).toBe(`${agentUser.uid}:${agentUser.gid}`);
    expect(info.HostConfig.CapDrop).toEqual(["ALL"]);
    expect(info.HostConfig.CapAdd ?? []).toEqual([]);
    expect(info.HostConfig.ReadonlyRootfs).toBe(true);
    expect(info.HostConfig.SecurityOpt).toContain("no-new-privileges:true");
    expect(info.HostConfig.NetworkMode).toBe("bridge");

    // The agent's own bash tool, through OpenCode: install, then run jq.
    const client = await sandbox.client();
    const session = await client.session.create({});
    const id = session.data?.id;
    if (!id) throw new Error("no session");
    const started = performance.now();
    const reply = await client.session.prompt({ sessionID: id, parts: [{ type: "text", text: "get jq" }] });
    const installS = (performance.now() - started) / 1000;
    const text = (reply.data?.parts ?? []).map((p) => ("text" in p ? p.text : "")).join("");
    expect(text).toContain('"outcome":"COMPLETE"');
    const log = readFileSync(join(ws, "apt.log"), "utf8");
    expect(log).toMatch(/unpacked jq /);
    expect(log).toMatch(/rc=0\s*$/);
    expect(readFileSync(join(ws, "jq.out"), "utf8").trim()).toBe("42");
    expect(readFileSync(join(ws, "uid.out"), "utf8").trim()).toBe(String(agentUser.uid));
    console.log(
      `ocbox-apt install jq through the agent's bash tool: ${installS.toFixed(1)} s (prompt round trip)`,
    );

    // Run by the agent user, from the read-only prefix.
    const jq = await sh("command -v jq; jq --version; id -u");
    expect(jq.exitCode).toBe(0);
    expect(jq.stdout).toContain(`${APT_PREFIX}/usr/bin/jq`);
    expect(jq.stdout).toMatch(/^jq-1\./m);

    // Off the list, options, versions: refused with the key to add it to; nothing is installed.
    const evil = await sh("ocbox-apt install curl-evil");
    expect(evil.exitCode).toBe(3);
    expect(evil.stdout).toMatch(
      /refused "curl-evil": not on this sandbox's list \(apt\.allow in ocbox\.yaml\)/,
    );
    const offList = await sh("ocbox-apt install sqlite3");
    expect(offList.exitCode).toBe(3);
    expect(offList.stdout).toMatch(/refused "sqlite3"/);
    const option = await sh("ocbox-apt install jq -o APT::Get::AllowUnauthenticated=true");
    expect(option.exitCode).toBe(3);
    expect(option.stdout).toMatch(/refused "-o": options are not accepted/);
    const raw = await sh(
      `printf 'install jq --allow-unauthenticated\\n' | socat -t 30 - UNIX-CONNECT:${APT_SOCKET}`,
    );
    expect(raw.stdout).toMatch(/refused "--allow-unauthenticated"/);
    expect(raw.stdout).toMatch(/@@ocbox-apt-exit 3/);
    expect((await sh("ocbox-apt install jq=1.6")).stdout).toMatch(/versions and releases are not accepted/);
    expect((await sh("command -v sqlite3")).exitCode).not.toBe(0);

    // Still no root, and the prefix is the helper's alone.
    const status = await sh("id -u; grep NoNewPrivs /proc/self/status; grep CapEff /proc/self/status");
    expect(status.stdout).toMatch(new RegExp(`^${agentUser.uid}$`, "m"));
    expect(agentUser.uid).not.toBe(0);
    expect(status.stdout).toMatch(/NoNewPrivs:\s+1/);
    expect(status.stdout).toMatch(/CapEff:\s+0+$/m);
    const write = await sh(
      `touch ${APT_PREFIX}/x 2>&1; rm -f ${APT_PREFIX}/usr/bin/jq 2>&1; echo evil > ${APT_PREFIX}/usr/bin/jq 2>&1; true`,
    );
    expect(write.stdout).toMatch(/Read-only file system/);
    // Nor replace the helper's socket with a listener of its own.
    expect((await sh(`rm -f ${APT_SOCKET} 2>&1; test -S ${APT_SOCKET}`)).exitCode).toBe(0);
    expect((await sh(`jq --version`)).stdout).toMatch(/^jq-1\./);
  } finally {
    await sandbox.stop();
    await model.close();
  }
  expect(await engine.listContainers([`${LABEL.run}=${spec.runId}`], true)).toEqual([]);
  expect(await engine.listVolumes([`${LABEL.run}=${spec.runId}`])).toEqual([]);
});
