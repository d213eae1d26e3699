/**
 * Issue 15 item 4: a Harbor task's network_mode per phase as the egress sidecar's spec, the new
 * allowlist kinds (`*.` subdomains, IPv4 literals and CIDRs) and the Squid config they make.
 */
import { describe, expect, it } from "vitest";
import { parseTaskToml } from "../../src/eval/harbor-task.js";
import { phaseNetworkPolicies } from "../../src/config/harbor-task-schema.js";
import { classifyEntry, matchHost, normaliseAllowlist } from "../../src/egress/allowlist.js";
import { parseDecisions } from "../../src/egress/decisions.js";
import { squidConfig } from "../../src/egress/squid.js";
import { describeNetwork, harborPhaseEgress, sharedVerifierRelays } from "../../src/eval/harbor-network.js";
import type { ModelGateway } from "../../src/egress/spec.js";

const paths = {
  accessLog: "/e/access.log",
  cert: "/t/cert.pem",
  pidFile: "/t/squid.pid",
  localAddrs: "/t/local-addrs",
  errorDir: "/opt/errors",
  gatewayPem: "/t/gw.pem",
  relayCert: "/t/relay.crt",
};

const gateway: ModelGateway = { agentPort: 9100, upstream: "http://127.0.0.1:8080" };
const policies = (toml: string) => phaseNetworkPolicies(parseTaskToml(toml, "task.toml").toml);

describe("allowlist kinds from allowed_hosts", () => {
  it("*. allows every subdomain but not the domain itself", () => {
    const allow = ["*.example.com"];
    expect(matchHost(allow, "api.example.com")).toBe("*.example.com");
    expect(matchHost(allow, "a.b.example.com")).toBe("*.example.com");
    expect(matchHost(allow, "example.com")).toBeUndefined();
    expect(matchHost(allow, "badexample.com")).toBeUndefined();
    expect(matchHost(allow, "example.com.evil.net")).toBeUndefined();
  });

  it("an IPv4 literal or CIDR allows a request naming an address in it, never a name", () => {
    const allow = ["203.0.113.0/24", "198.51.100.7"];
    expect(matchHost(allow, "203.0.113.80")).toBe("203.0.113.0/24");
    expect(matchHost(allow, "198.51.100.7")).toBe("198.51.100.7");
    expect(matchHost(allow, "198.51.100.8")).toBeUndefined();
    expect(matchHost(allow, "203.0.114.1")).toBeUndefined();
    expect(matchHost(allow, "example.com")).toBeUndefined();
  });

  it("a CIDR is kept as its network; overlaps are dropped as squid wants", () => {
    expect(classifyEntry("10.1.2.3/8")).toEqual({
      kind: "address",
      entry: "10.0.0.0/8",
      address: "10.0.0.0",
      prefix: 8,
    });
    expect(classifyEntry("10.1.2.3/32").entry).toBe("10.1.2.3");
    expect(
      normaliseAllowlist([
        "*.example.com",
        ".example.com",
        "*.a.b",
        "x.a.b",
        "*.c.a.b",
        "1.2.3.4",
        "1.2.3.4/32",
      ]),
    ).toEqual(["*.a.b", ".example.com", "1.2.3.4"]);
  });
});

describe("squid config for the new kinds", () => {
  it("subdomains by regex (name and SNI), addresses only when the request names one, the host refused first", () => {
    const conf = squidConfig({
      allow: ["*.example.com", "pypi.org", "203.0.113.0/24"],
      proxyPort: 3128,
      gateways: [],
      paths,
    });
    const lines = conf.split("\n");
    expect(lines).toContain("acl ocbox_allowed dstdomain -n pypi.org");
    expect(lines).toContain("acl ocbox_allowed_sub dstdom_regex -n -i \\.example\\.com$");
    expect(lines).toContain("acl ocbox_allowed_sub_sni ssl::server_name_regex -i \\.example\\.com$");
    expect(lines).toContain("acl ocbox_ip_host dstdom_regex -n ^[0-9]+(\\.[0-9]+){3}$");
    expect(lines).toContain("acl ocbox_allowed_ip dst 203.0.113.0/24");
    for (const acl of ["ocbox_allowed", "ocbox_allowed_sub", "ocbox_ip_host ocbox_allowed_ip"]) {
      const deny = lines.indexOf(`http_access deny ${acl} ocbox_local`);
      expect(deny, acl).toBeGreaterThan(0);
      expect(lines.indexOf(`http_access allow ${acl}`)).toBe(deny + 1);
    }
    expect(lines.indexOf("http_access deny all")).toBeGreaterThan(
      lines.indexOf("http_access allow ocbox_allowed_sub"),
    );
    const bump = lines.filter((l) => l.startsWith("ssl_bump"));
    expect(bump).toEqual([
      "ssl_bump peek ocbox_step1",
      "ssl_bump splice ocbox_allowed_sni",
      "ssl_bump splice ocbox_allowed_sub_sni",
      "ssl_bump splice ocbox_ip_host ocbox_allowed_ip",
      "ssl_bump terminate all",
    ]);
  });

  it("public allows every host after refusing the host's own addresses; no allow line without it", () => {
    const lines = squidConfig({
      allow: ["ignored.org"],
      public: true,
      proxyPort: 3128,
      gateways: [],
      paths,
    }).split("\n");
    const deny = lines.indexOf("http_access deny ocbox_local");
    expect(deny).toBeGreaterThan(lines.indexOf("http_access deny !CONNECT !ocbox_http_port"));
    const priv = lines.indexOf("http_access deny ocbox_private");
    expect(priv).toBeGreaterThan(deny);
    expect(lines).toContain(
      "acl ocbox_private dst 10.0.0.0/8 172.16.0.0/12 192.168.0.0/16 100.64.0.0/10 fc00::/7",
    );
    expect(lines.indexOf("http_access allow all")).toBeGreaterThan(priv);
    expect(lines).toContain("ssl_bump splice all");
    expect(lines.some((l) => l.includes("ignored.org"))).toBe(false);
    // The host-only upstream rules stay: the local list is still read.
    expect(lines).toContain('acl ocbox_local dst "/t/local-addrs"');
    const closed = squidConfig({ allow: [], proxyPort: 3128, gateways: [], paths }).split("\n");
    expect(closed.filter((l) => l.startsWith("http_access allow"))).toEqual([]);
  });
});

describe("harborPhaseEgress: task.toml → egress per phase", () => {
  it("no-network: nothing but the model gateway for the agent, nothing at all for the verifier", () => {
    const e = harborPhaseEgress(policies('[environment]\nnetwork_mode = "no-network"\n'), {
      gateways: [gateway],
      decisionLog: "/s/d.jsonl",
    });
    expect(e.agent).toEqual({ allow: [], restricted: true, gateways: [gateway], decisionLog: "/s/d.jsonl" });
    expect(e.verifier).toEqual({ allow: [], restricted: true, decisionLog: "/s/d.jsonl" });
    expect(e.publicPhases).toEqual([]);
  });

  it("allowlist per phase; the verifier's own override is a second policy", () => {
    const e = harborPhaseEgress(
      policies(
        [
          "[environment]",
          'network_mode = "public"',
          "[agent]",
          'allowed_hosts = ["*.PyPI.org", "files.pythonhosted.org", "203.0.113.9/24"]',
          "[verifier]",
          'network_mode = "no-network"',
        ].join("\n"),
      ),
      { gateways: [gateway] },
    );
    expect(e.agent).toEqual({
      allow: ["*.pypi.org", "203.0.113.0/24", "files.pythonhosted.org"],
      gateways: [gateway],
    });
    expect(e.verifier).toEqual({ allow: [], restricted: true });
  });

  it("public is named per phase; the older allow_internet = false is no-network; an empty allowlist allows nothing", () => {
    const pub = harborPhaseEgress(
      policies('[verifier]\nnetwork_mode = "public"\n[environment]\nallow_internet = false\n'),
      {
        gateways: [gateway],
      },
    );
    expect(pub.verifier).toEqual({ allow: [], public: true });
    expect(pub.agent).toEqual({ allow: [], restricted: true, gateways: [gateway] });
    expect(pub.publicPhases).toEqual(["verifier"]);
    const dflt = harborPhaseEgress(policies(""), undefined);
    expect(dflt.publicPhases).toEqual(["agent", "verifier"]);
    const empty = harborPhaseEgress(
      { agent: { mode: "allowlist", allowedHosts: [] }, verifier: { mode: "allowlist", allowedHosts: [] } },
      undefined,
    );
    expect(empty.agent).toEqual({ allow: [], restricted: true });
  });

  it("entries the proxy never reaches are said once per phase", () => {
    const e = harborPhaseEgress(
      policies('[agent]\nallowed_hosts = ["localhost", "127.0.0.1", "169.254.169.254", "ok.org"]\n'),
      undefined,
    );
    expect(e.notices).toHaveLength(3);
    expect(e.notices[0]).toMatch(/^agent: allowed_hosts localhost is the sandbox's own loopback/);
    expect(describeNetwork({ mode: "no-network", allowedHosts: [] }, "verifier")).toBe(
      "no-network (nothing)",
    );
    expect(describeNetwork({ mode: "allowlist", allowedHosts: ["b.org", "*.a.org"] }, "agent")).toBe(
      "allowlist: *.a.org, b.org",
    );
  });

  it("the decision log names the entry that allowed an address, and says public", () => {
    const line = (host: string, status: number, squid: string) =>
      `1700000000.000 3128 GET ${host} 80 - ${status} ${squid} - 203.0.113.80 /`;
    const ctx = { allow: ["203.0.113.0/24"], gatewayPorts: {} };
    const [ok, denied] = parseDecisions(
      [line("203.0.113.80", 200, "TCP_MISS"), line("198.51.100.1", 403, "TCP_DENIED")].join("\n"),
      ctx,
    );
    expect(ok).toMatchObject({ decision: "allow", rule: "203.0.113.0/24" });
    expect(denied).toMatchObject({ decision: "deny", rule: "IP address (the allowlist names hosts)" });
    const [pub] = parseDecisions(line("example.org", 200, "TCP_MISS"), { ...ctx, public: true });
    expect(pub?.rule).toMatch(/^public network/);
  });
});

describe("a shared-mode verifier's relays", () => {
  const pol = (mode: "public" | "no-network" | "allowlist", hosts: string[] = []) => ({
    mode,
    allowedHosts: hosts,
  });
  it("host ports always; the proxy when the verifier's own policy allows something; never a gateway", () => {
    const list = pol("allowlist", ["deb.debian.org"]);
    expect(sharedVerifierRelays(list, [8080])).toEqual([8080, 3128]);
    expect(sharedVerifierRelays(pol("public"), [])).toEqual([3128]);
    expect(sharedVerifierRelays(pol("no-network"), [8080])).toEqual([8080]);
    expect(sharedVerifierRelays(pol("allowlist"), [])).toEqual([]);
  });
});
