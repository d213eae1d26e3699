/**
 * Issue 15 item 4 through a real egress sidecar: a Harbor task's network_mode, mapped by
 * harborPhaseEgress, as a hostile agent sees it from inside the sandbox. Targets: this machine's
 * Debian mirror (`deb.debian.org`, the one host reachable here) by name and by address, names and
 * addresses that are off the list, and the host's own addresses, which no list and no mode opens.
 */
import { mkdtempSync } from "node:fs";
import { networkInterfaces, tmpdir } from "node:os";
import { lookup } from "node:dns/promises";
import { join } from "node:path";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { NetworkPolicy } from "../../src/config/harbor-task-schema.js";
import type { EgressSpec } from "../../src/egress/spec.js";
import { harborPhaseEgress } from "../../src/eval/harbor-network.js";
import { ensureImages } from "../../src/image/build.js";
import { AGENT_UID } from "../../src/image/dockerfile.js";
import { DockerEngine } from "../../src/runtime/docker-engine.js";
import { EGRESS_NETWORK } from "../../src/sandbox/containers.js";
import { DEFAULT_LIMITS, agentUserFor, currentHostUser, type SandboxSpec } from "../../src/sandbox/spec.js";
import { newRunId, startSandbox, type StartedSandbox } from "../../src/sandbox/start.js";

const engine = new DockerEngine();
const docker = new Docker();
const MIRROR = "deb.debian.org";

async function specWith(egress: EgressSpec, id: string): Promise<SandboxSpec> {
  const images = await ensureImages(engine);
  const host = currentHostUser();
  return {
    sandboxId: id,
    runId: newRunId(),
    workspace: mkdtempSync(join(tmpdir(), "ocbox-harbor-net-")),
    images: { sandbox: images.sandbox.tag, egress: images.egress.tag },
    agentUser: agentUserFor(host, AGENT_UID),
    hostUser: host,
    forwardPorts: [],
    hostPort: 0,
    env: {},
    egress,
    limits: DEFAULT_LIMITS,
    server: { logLevel: "INFO", printLogs: false },
    lifetime: "session",
    readyTimeoutMs: 90_000,
  };
}

/** curl through the agent's proxy: the status and the body (squid's own pages say "ocbox egress"). */
async function through(sandbox: StartedSandbox, url: string): Promise<{ status: string; body: string }> {
  const r = await engine.exec(sandbox.agentId, [
    "curl",
    "-sk",
    "--max-time",
    "20",
    "-w",
    "\n%{http_code}",
    "--proxy",
    "http://127.0.0.1:3128",
    // The agent's no_proxy names its loopback: through the proxy all the same, as an attacker would.
    "--noproxy",
    "",
    url,
  ]);
  const lines = r.stdout.trimEnd().split("\n");
  return { status: lines.pop() ?? "", body: lines.join("\n") };
}

/** Reached the upstream: a status of the mirror's, not a page of the proxy's. */
function reached(r: { status: string; body: string }, what: string): void {
  expect(r.body, what).not.toContain("ocbox egress");
  expect(["200", "301", "302", "404"], `${what}: ${r.status} ${r.body.slice(0, 200)}`).toContain(r.status);
}

function refused(r: { status: string; body: string }, what: string, why: RegExp): void {
  expect(r.status, what).toBe("403");
  expect(r.body, what).toMatch(why);
}

const OFF_LIST = /is not on this sandbox's allowlist/;
const LOCAL = /resolves to an address of the host itself/;
const LOCAL_OR_PRIVATE = /resolves to an address of the host itself|is \(or resolves to\) a private address/;

/** The host's own IPv4 addresses: its interfaces and the sidecar network's gateway. */
async function hostAddresses(): Promise<string[]> {
  const net = (await docker.getNetwork(EGRESS_NETWORK).inspect()) as {
    IPAM: { Config: Array<{ Gateway?: string }> };
  };
  const gw = net.IPAM.Config.flatMap((c) => (c.Gateway ? [c.Gateway] : []));
  const own = Object.values(networkInterfaces())
    .flatMap((l) => l ?? [])
    .filter((i) => i.family === "IPv4" && !i.internal)
    .map((i) => i.address);
  return [...new Set([...gw, ...own])];
}

const phases = (agent: NetworkPolicy, verifier: NetworkPolicy = agent) =>
  harborPhaseEgress({ agent, verifier }, undefined);

describe("Harbor network_mode through a real egress sidecar", () => {
  let mirrorIp = "";
  let hostIps: string[] = [];
  const started: StartedSandbox[] = [];

  beforeAll(async () => {
    mirrorIp = (await lookup(MIRROR, { family: 4 })).address;
    hostIps = await hostAddresses();
    expect(hostIps.length).toBeGreaterThan(0);
  });

  afterAll(async () => {
    for (const s of started) await s.stop();
  });

  async function start(egress: EgressSpec, id: string): Promise<StartedSandbox> {
    const s = await startSandbox(engine, await specWith(egress, id));
    started.push(s);
    return s;
  }

  /**
   * The host's addresses that were there when the sandbox started and still are: other tests on
   * this engine add and remove bridges (Podman's 10.89.0.1), and an address that is gone is no
   * longer the host's.
   */
  async function stableHostIps(before: string[]): Promise<string[]> {
    const now = new Set(await hostAddresses());
    return before.filter((ip) => now.has(ip));
  }

  it("allowlist: a *. wildcard and an on-list CIDR work, the bare domain, an off-list host and an off-list address do not, and a CIDR over the host's addresses opens nothing", async () => {
    const cidr = `${mirrorIp.split(".").slice(0, 3).join(".")}.0/24`;
    const e = phases({
      mode: "allowlist",
      allowedHosts: ["*.debian.org", cidr, ...hostIps.map((ip) => `${ip}/32`), "127.0.0.0/8"],
    });
    expect(e.notices).toEqual([
      expect.stringMatching(/^agent: allowed_hosts 127\.0\.0\.0\/8 is a loopback/),
      expect.stringMatching(/^verifier: allowed_hosts 127\.0\.0\.0\/8 is a loopback/),
    ]);
    const s = await start(e.agent, "harbor-allowlist");
    reached(await through(s, `http://${MIRROR}/debian/`), "wildcard over HTTP");
    reached(await through(s, `https://${MIRROR}/debian/`), "wildcard over HTTPS (spliced)");
    reached(await through(s, `http://${mirrorIp}/debian/`), "on-list CIDR over HTTP");
    reached(await through(s, `https://${mirrorIp}/debian/`), "on-list CIDR over HTTPS (spliced)");
    refused(await through(s, "http://debian.org/"), "the bare domain of a *. entry", OFF_LIST);
    refused(await through(s, "http://example.com/"), "an off-list host", OFF_LIST);
    refused(await through(s, "https://example.com/"), "an off-list host over HTTPS", OFF_LIST);
    refused(await through(s, "http://198.51.100.7/"), "an off-list address", OFF_LIST);
    const results = await Promise.all(
      hostIps.map(async (ip) => [ip, await through(s, `http://${ip}/`)] as const),
    );
    const stable = await stableHostIps(hostIps);
    for (const [ip, r] of results) if (stable.includes(ip)) refused(r, `host address ${ip}`, LOCAL);
    refused(await through(s, "http://127.0.0.1:80/"), "the loopback", LOCAL);
    const decisions = await s.egressDecisions();
    expect(decisions).toContainEqual(
      expect.objectContaining({ host: mirrorIp, decision: "allow", rule: cidr }),
    );
    expect(decisions).toContainEqual(
      expect.objectContaining({ host: MIRROR, decision: "allow", rule: "*.debian.org" }),
    );
    expect(decisions).toContainEqual(expect.objectContaining({ host: "example.com", decision: "deny" }));
  });

  it("no-network: the mirror by name or address is refused (the verifier's spec, with no gateway at all)", async () => {
    const e = phases({ mode: "public", allowedHosts: [] }, { mode: "no-network", allowedHosts: [] });
    expect(e.verifier.gateways).toBeUndefined();
    const s = await start(e.verifier, "harbor-nonet");
    refused(await through(s, `http://${MIRROR}/debian/`), "the mirror by name", OFF_LIST);
    refused(await through(s, `https://${MIRROR}/debian/`), "the mirror over HTTPS", OFF_LIST);
    refused(await through(s, `http://${mirrorIp}/debian/`), "the mirror by address", OFF_LIST);
  });

  it("public: any host by name or address, and still never the host or its loopback", async () => {
    const e = phases({ mode: "public", allowedHosts: [] });
    expect(e.publicPhases).toEqual(["agent", "verifier"]);
    const before = await hostAddresses();
    const s = await start(e.agent, "harbor-public");
    reached(await through(s, `http://${MIRROR}/debian/`), "a host by name");
    reached(await through(s, `https://${MIRROR}/debian/`), "a host over HTTPS");
    reached(await through(s, `http://${mirrorIp}/debian/`), "an address");
    const results = await Promise.all(
      before.map(
        async (ip) => [ip, await through(s, `http://${ip}/`), await through(s, `https://${ip}/`)] as const,
      ),
    );
    const stable = await stableHostIps(before);
    expect(stable.length).toBeGreaterThan(0);
    for (const [ip, plain, tls] of results) {
      // A private address of the host may be refused as private first: either way, never reached.
      if (!stable.includes(ip)) continue;
      refused(plain, `host address ${ip}`, LOCAL_OR_PRIVATE);
      refused(tls, `host address ${ip} over HTTPS`, LOCAL_OR_PRIVATE);
    }
    // A private address that is not the host's (another machine on its network) is refused too.
    refused(await through(s, "http://10.255.254.253/"), "a private address", /a private address/);
    refused(await through(s, "http://127.0.0.1:80/"), "the loopback", LOCAL);
    refused(await through(s, "http://localhost/"), "localhost", LOCAL);
    const decisions = await s.egressDecisions();
    const mirror = decisions.find((d) => d.host === MIRROR && d.decision === "allow");
    expect(mirror?.rule).toMatch(/^public network/);
  });
});
