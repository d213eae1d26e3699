/**
 * Issue 14 item 1 (ARCHITECTURE.md decision 9): no host path inside the engine but the workspace.
 * The run files (password, generated config, the auth.json copy), the sidecar's files (proxy
 * config, access log) and OpenCode's data are engine volumes filled and read back through the
 * archive API; the resolver comes from the engine. A sidecar that turns its access log into a
 * link to a host file gets nothing of that file read.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Docker from "dockerode";
import { expect, it } from "vitest";
import { fromJsonl } from "../../src/egress/decisions.js";
import { ensureImages } from "../../src/image/build.js";
import { AGENT_UID } from "../../src/image/dockerfile.js";
import { DockerEngine } from "../../src/runtime/docker-engine.js";
import { LABEL } from "../../src/runtime/labels.js";
import { dataVolumeLabels } from "../../src/sandbox/data-volume-name.js";
import { DEFAULT_LIMITS, agentUserFor, currentHostUser, type SandboxSpec } from "../../src/sandbox/spec.js";
import { newRunId, startSandbox } from "../../src/sandbox/start.js";

const root = mkdtempSync(join(tmpdir(), "ocbox-nhp-"));
process.env.XDG_STATE_HOME = join(root, "state");

it("nothing of the host but the workspace is mounted; credentials, proxy files and sessions live in volumes", async () => {
  const engine = new DockerEngine();
  const docker = new Docker();
  const images = await ensureImages(engine);
  const ws = mkdtempSync(join(root, "ws-"));
  const authFile = join(root, "auth.json");
  const authText = JSON.stringify({
    scripted: { type: "api", key: "sk-host-copy-0815" },
    other: { type: "api", key: "x" },
  });
  writeFileSync(authFile, authText, { mode: 0o600 });
  // The ~/.local an ocbox before data volumes kept in the state dir: copied into a new volume once.
  const seed = join(root, "home-local");
  mkdirSync(join(seed, "share", "opencode"), { recursive: true });
  writeFileSync(join(seed, "share", "opencode", "old-session.json"), '{"id":"ses_old"}\n');
  // What a hostile sidecar would point its access log at: a host file with a log line in it.
  const hostFile = join(root, "host-secret.log");
  writeFileSync(hostFile, "1795444436.646 40000 CONNECT host-secret.example 443 x 200 TCP_DENIED bump -\n");
  const decisionLog = join(root, "egress.jsonl");
  const runId = newRunId();
  const dataVolume = `ocbox-it-nhp-${runId}-data`;
  const host = currentHostUser();
  const spec: SandboxSpec = {
    sandboxId: "it-nhp",
    runId,
    workspace: ws,
    images: { sandbox: images.sandbox.tag, egress: images.egress.tag },
    agentUser: agentUserFor(host, AGENT_UID),
    hostUser: host,
    forwardPorts: [],
    hostPort: 0,
    env: {},
    opencodeConfig: { model: "scripted/scripted", share: "disabled" },
    authFile,
    authProviders: ["scripted"],
    dataVolume,
    dataVolumeLabels: dataVolumeLabels("it-nhp"),
    dataSeed: seed,
    egress: { allow: [], decisionLog },
    limits: DEFAULT_LIMITS,
    server: { logLevel: "INFO", printLogs: false },
    lifetime: "session",
    readyTimeoutMs: 90_000,
  };
  const sandbox = await startSandbox(engine, spec);
  try {
    for (const id of [sandbox.agentId, sandbox.egressId]) {
      const info = await docker.getContainer(id).inspect();
      const binds = (info.Mounts ?? []).filter((m) => m.Type === "bind").map((m) => m.Source);
      expect(binds, id === sandbox.agentId ? "agent" : "egress").toEqual(id === sandbox.agentId ? [ws] : []);
    }
    const sh = async (script: string, id = sandbox.agentId) => engine.exec(id, ["bash", "-c", script]);
    expect((await sh("cat /etc/resolv.conf")).stdout).toMatch(/^nameserver 127\.0\.0\.1$/m);
    // D2: the copy holds only the providers in use, where OpenCode reads it; the rest stays out.
    const auth = await sh("cat ~/.local/share/opencode/auth.json");
    expect(JSON.parse(auth.stdout)).toEqual({ scripted: { type: "api", key: "sk-host-copy-0815" } });
    expect((await sh("cat ~/.local/share/opencode/old-session.json")).stdout).toContain("ses_old");
    // The password and the generated config are read-only to the agent.
    const write = await sh("echo x > /run/ocbox/run/server-password; echo x > /run/ocbox/run/opencode.json");
    expect(write.exitCode).not.toBe(0);
    expect(write.stderr).toMatch(/Permission denied/);
    // A denied request reaches the decisions through the archive API.
    await sh("curl -s -o /dev/null -m 10 http://denied.example/ || true");
    const decisions = await sandbox.egressDecisions();
    expect(decisions.map((d) => [d.host, d.decision])).toContainEqual(["denied.example", "deny"]);
    // The sidecar's user cannot swap its log (the volume's root is not its own) ...
    const swap = `rm -f /run/ocbox/egress/access.log && ln -s ${hostFile} /run/ocbox/egress/access.log`;
    expect((await sh(swap, sandbox.egressId)).exitCode).not.toBe(0);
    // ... and a sidecar compromised to root turns it into a link to a host file: the link
    // resolves in the container, never here, and a link is not read at all.
    const asRoot = await engine.exec(sandbox.egressId, ["bash", "-c", swap], { user: "0:0" });
    expect(asRoot.exitCode, asRoot.stderr).toBe(0);
    expect(await sandbox.egressDecisions()).toEqual([]);
  } finally {
    await sandbox.stop();
  }
  expect(readFileSync(authFile, "utf8")).toBe(authText);
  expect(readFileSync(hostFile, "utf8")).toContain("host-secret.example");
  const logged = existsSync(decisionLog) ? readFileSync(decisionLog, "utf8") : "";
  expect(fromJsonl(logged).map((d) => d.host)).not.toContain("host-secret.example");
  // The run's volumes went with its containers; the data volume stays for the next run.
  expect(await engine.listVolumes([`${LABEL.run}=${runId}`])).toEqual([]);
  expect(await engine.volumeExists(dataVolume)).toBe(true);
  await engine.removeVolume(dataVolume);
}, 240_000);
