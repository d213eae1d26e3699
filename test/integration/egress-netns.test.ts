/**
 * Issue 13 item 16: the egress sidecar (squid, which parses every request the agent sends) runs in
 * a network namespace of its own. With no host port listed, no container of a sandbox is in the
 * host's namespace; with one, only the host relay is, and it runs socat and nothing else. From
 * inside, as a hostile agent: an allowed name that resolves to the sidecar's bridge gateway, or
 * to any other address of the host, is refused by the proxy before it connects.
 */
import { createServer, type Server } from "node:net";
import { appendFileSync, mkdtempSync } from "node:fs";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureImages } from "../../src/image/build.js";
import { AGENT_UID } from "../../src/image/dockerfile.js";
import { DockerEngine } from "../../src/runtime/docker-engine.js";
import { LABEL } from "../../src/runtime/labels.js";
import { EGRESS_NETWORK } from "../../src/sandbox/containers.js";
import { DEFAULT_LIMITS, agentUserFor, currentHostUser, type SandboxSpec } from "../../src/sandbox/spec.js";
import { newRunId, startSandbox, type StartedSandbox } from "../../src/sandbox/start.js";

const engine = new DockerEngine();
const docker = new Docker();
const DOMAIN = "ocbox-netns.test";

async function specFor(forwardPorts: number[]): Promise<SandboxSpec> {
  const images = await ensureImages(engine);
  const host = currentHostUser();
  return {
    sandboxId: "netns",
    runId: newRunId(),
    workspace: mkdtempSync(join(tmpdir(), "ocbox-netns-")),
    images: { sandbox: images.sandbox.tag, egress: images.egress.tag },
    agentUser: agentUserFor(host, AGENT_UID),
    hostUser: host,
    forwardPorts,
    hostPort: 0,
    env: {},
    egress: { allow: [`.${DOMAIN}`] },
    limits: DEFAULT_LIMITS,
    server: { logLevel: "INFO", printLogs: false },
    lifetime: "session",
    readyTimeoutMs: 90_000,
  };
}

/** Role → HostConfig.NetworkMode of every container carrying the sandbox's run label. */
async function networkModes(runId: string): Promise<Record<string, string>> {
  const list = await docker.listContainers({
    all: true,
    filters: JSON.stringify({ label: [`${LABEL.run}=${runId}`] }),
  });
  const out: Record<string, string> = {};
  for (const c of list) {
    const info = await docker.getContainer(c.Id).inspect();
    out[c.Labels[LABEL.role] ?? c.Id] = info.HostConfig.NetworkMode ?? "";
  }
  return out;
}

/** Listen on the host's wildcard address, on `port` when free; records every connection. */
async function trap(port: number, hits: string[]): Promise<Server | undefined> {
  const server = createServer((s) => {
    hits.push(`${s.remoteAddress}:${port}`);
    s.end("HTTP/1.0 200 OK\r\n\r\nleak\n");
  });
  return new Promise((resolve) => {
    server.once("error", (e) => {
      console.log(
        `port ${port} on the host is taken (${(e as NodeJS.ErrnoException).code}): the refusal message is checked alone`,
      );
      resolve(undefined);
    });
    server.listen(port, "0.0.0.0", () => resolve(server));
  });
}

describe("egress: squid out of the host's network namespace", () => {
  let sandbox: StartedSandbox;
  const hits: string[] = [];
  const traps: Array<Server | undefined> = [];

  beforeAll(async () => {
    traps.push(await trap(80, hits), await trap(443, hits));
    sandbox = await startSandbox(engine, await specFor([]));
  });

  afterAll(async () => {
    await sandbox?.stop();
    for (const t of traps) t?.close();
  });

  it("with no host port listed, no container of the sandbox is in the host's namespace", async () => {
    const modes = await networkModes(sandbox.spec.runId);
    expect(modes).toEqual({ agent: "none", egress: EGRESS_NETWORK });
    expect(sandbox.relayId).toBeUndefined();
    // The server is published on the host's loopback only, by the engine.
    const info = await docker.getContainer(sandbox.egressId).inspect();
    const portBindings = (info.HostConfig.PortBindings ?? {}) as Record<string, Array<{ HostIp: string }>>;
    const bindings = Object.values(portBindings).flat();
    expect(bindings.map((b) => b.HostIp)).toEqual(["127.0.0.1"]);
    expect((await fetch(`${sandbox.server.url}/global/health`)).status).toBe(401);
  });

  it("an allowed name resolving to the sidecar's bridge gateway or any address of the host is refused through the proxy", async () => {
    const net = (await docker.getNetwork(EGRESS_NETWORK).inspect()) as {
      IPAM: { Config: Array<{ Gateway?: string; Subnet?: string }> };
    };
    const gateway = net.IPAM.Config.find((c) => c.Gateway)?.Gateway;
    if (!gateway) throw new Error(`network ${EGRESS_NETWORK} has no gateway address`);
    const hostV4 = Object.values(networkInterfaces())
      .flatMap((l) => l ?? [])
      .filter((i) => i.family === "IPv4" && !i.internal)
      .map((i) => i.address);
    const targets = [...new Set([gateway, ...hostV4])].map((ip, i) => ({ ip, name: `h${i}.${DOMAIN}` }));
    // The allowed domain's DNS points at the host (its owner is the attacker): written into the
    // sidecar's hosts file, then squid re-reads its config and that file (SIGHUP).
    // (On the engine's side: the sidecar's root is read-only; this test runs beside the engine.)
    const hostsPath = (await docker.getContainer(sandbox.egressId).inspect()).HostsPath;
    appendFileSync(hostsPath, targets.map((t) => `${t.ip} ${t.name}\n`).join(""));
    const hup = await engine.exec(sandbox.egressId, [
      "sh",
      "-c",
      "kill -HUP $(cat /tmp/ocbox-egress/squid.pid)",
    ]);
    expect(hup.exitCode, hup.stderr).toBe(0);
    await new Promise((r) => setTimeout(r, 2000));
    for (const t of targets) {
      const plain = await engine.exec(sandbox.agentId, [
        "curl",
        "-s",
        "-w",
        "\\n%{http_code}",
        "--proxy",
        "http://127.0.0.1:3128",
        `http://${t.name}/`,
      ]);
      expect(plain.stdout, `${t.name} (${t.ip})`).toContain("resolves to an address of the host itself");
      expect(plain.stdout.trim().split("\n").pop()).toBe("403");
      // A CONNECT is denied inside TLS, under the sidecar's throwaway certificate (-k to read it).
      const tunnel = await engine.exec(sandbox.agentId, [
        "curl",
        "-sk",
        "-w",
        "\\n%{http_code}",
        "--proxy",
        "http://127.0.0.1:3128",
        `https://${t.name}/`,
      ]);
      expect(tunnel.stdout, t.name).toContain("resolves to an address of the host itself");
      expect(tunnel.stdout.trim().split("\n").pop()).toBe("403");
      // The IP literal itself: the list names hosts.
      const literal = await engine.exec(sandbox.agentId, [
        "curl",
        "-s",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "--proxy",
        "http://127.0.0.1:3128",
        `http://${t.ip}/`,
      ]);
      expect(literal.stdout).toBe("403");
    }
    expect(hits).toEqual([]);
    const decisions = await sandbox.egressDecisions();
    for (const t of targets)
      expect(decisions).toContainEqual(expect.objectContaining({ host: t.name, decision: "deny" }));
  });
});

describe("egress: a listed host port gets a relay with no parser", () => {
  it("only the host relay is in the host's namespace, it runs socat alone, and the port works", async () => {
    const listener = createServer((s) => s.end("host-port-ok\n"));
    await new Promise<void>((r) => listener.listen(0, "127.0.0.1", r));
    const port = (listener.address() as { port: number }).port;
    const sandbox = await startSandbox(engine, await specFor([port]));
    try {
      expect(await networkModes(sandbox.spec.runId)).toEqual({
        agent: "none",
        egress: EGRESS_NETWORK,
        relay: "host",
      });
      if (!sandbox.relayId) throw new Error("no host relay");
      const commands = (await engine.top(sandbox.relayId)).map((p) => p.command.split(" ")[0] ?? "");
      expect(new Set(commands.map((c) => c.replace(/^.*\//, "")))).toEqual(
        new Set(["tini", "bash", "socat"]),
      );
      const r = await engine.exec(sandbox.agentId, [
        "bash",
        "-c",
        `exec 3<>/dev/tcp/127.0.0.1/${port} && cat <&3`,
      ]);
      expect(r.stdout).toBe("host-port-ok\n");
    } finally {
      await sandbox.stop();
      listener.close();
    }
  });
});
