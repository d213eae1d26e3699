import { describe, expect, it } from "vitest";
import { isIpLiteral, matchHost, normaliseAllowlist } from "../../src/egress/allowlist.js";
import {
  fromJsonl,
  parseDecisions,
  suggestionYaml,
  suggestions,
  summarise,
  toJsonl,
} from "../../src/egress/decisions.js";
import { checkEgressPorts, proxyEnv } from "../../src/sandbox/egress-sidecar.js";
import { squidConfig } from "../../src/egress/squid.js";

const paths = {
  accessLog: "/e/access.log",
  cert: "/t/cert.pem",
  pidFile: "/t/squid.pid",
  localAddrs: "/t/local-addrs",
  errorDir: "/opt/errors",
  gatewayPem: "/t/gw.pem",
  relayCert: "/t/relay.crt",
};

describe("allowlist", () => {
  it("a leading dot allows the domain and its subdomains; no dot allows exactly that host", () => {
    const allow = [".github.com", "api.openai.com"];
    expect(matchHost(allow, "github.com")).toBe(".github.com");
    expect(matchHost(allow, "api.github.com")).toBe(".github.com");
    expect(matchHost(allow, "a.b.github.com.")).toBe(".github.com");
    expect(matchHost(allow, "API.OpenAI.com")).toBe("api.openai.com");
    expect(matchHost(allow, "evilgithub.com")).toBeUndefined();
    expect(matchHost(allow, "github.com.evil.net")).toBeUndefined();
    expect(matchHost(allow, "openai.com")).toBeUndefined();
    expect(matchHost(allow, "x.api.openai.com")).toBeUndefined();
    expect(matchHost(allow, "140.82.112.3")).toBeUndefined();
  });

  it("IP literals are recognised, v4 and v6", () => {
    expect(isIpLiteral("10.0.0.1")).toBe(true);
    expect(isIpLiteral("[fd00::1]")).toBe(true);
    expect(isIpLiteral("::1")).toBe(true);
    expect(isIpLiteral("example.com")).toBe(false);
  });

  it("normalising drops duplicates and entries a domain entry covers (squid refuses overlaps)", () => {
    expect(
      normaliseAllowlist([
        "api.github.com",
        ".github.com",
        "github.com",
        "X.org.",
        "x.org",
        ".a.b",
        ".c.a.b",
      ]),
    ).toEqual([".a.b", ".github.com", "x.org"]);
  });
});

describe("squid config", () => {
  it("allows listed hosts on 80/443 only, checks the SNI at step 1 and never resolves denied names", () => {
    const conf = squidConfig({
      allow: [".github.com", "deb.debian.org"],
      proxyPort: 40000,
      gateways: [],
      paths,
    });
    expect(conf).toContain(
      "http_port 127.0.0.1:40000 ssl-bump tls-cert=/t/cert.pem generate-host-certificates=off",
    );
    expect(conf).toContain("acl ocbox_allowed dstdomain -n .github.com deb.debian.org");
    expect(conf).toContain("acl ocbox_allowed_sni ssl::server_name .github.com deb.debian.org");
    const order = [
      "http_access deny CONNECT !ocbox_tls_port",
      "http_access deny !CONNECT !ocbox_http_port",
      "http_access deny ocbox_allowed ocbox_local",
      "http_access allow ocbox_allowed",
      "http_access deny all",
      "ssl_bump peek ocbox_step1",
      "ssl_bump splice ocbox_allowed_sni",
      "ssl_bump terminate all",
    ].map((l) => conf.indexOf(l));
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(conf).toContain('acl ocbox_local dst "/t/local-addrs"');
    expect(conf).toMatch(/acl ocbox_local dst 127\.0\.0\.0\/8 .*169\.254\.0\.0\/16/);
    expect(conf).toContain("access_log stdio:/e/access.log ocbox");
  });

  it("an empty allowlist (restricted mode) allows nothing and splices nothing", () => {
    const conf = squidConfig({ allow: [], proxyPort: 40000, gateways: [], paths });
    expect(conf).not.toContain("http_access allow");
    expect(conf).not.toContain("splice");
    expect(conf).toContain("ssl_bump terminate all");
  });

  it("a model gateway is an accel port to one upstream that replaces the Authorization header", () => {
    const conf = squidConfig({
      allow: [],
      proxyPort: 40000,
      gateways: [
        {
          name: "gw0",
          listenPort: 40001,
          agentPort: 9101,
          upstream: "https://api.openai.com",
          key: "sk-test-123",
        },
      ],
      paths: { ...paths, caFile: "/e/ca.crt" },
    });
    // TLS that takes only the relay's client certificate: nothing else on the host's loopback gets in.
    expect(conf).toContain(
      "https_port 127.0.0.1:40001 accel vhost defaultsite=api.openai.com:443 name=gw0 tls-cert=/t/gw.pem clientca=/t/relay.crt",
    );
    expect(conf).toContain(
      "cache_peer api.openai.com parent 443 0 no-query no-digest no-netdb-exchange originserver forceddomain=api.openai.com name=gw0_up tls tls-servername=api.openai.com tls-cafile=/e/ca.crt",
    );
    expect(conf).toContain("request_header_access Authorization deny gw0");
    expect(conf).toContain('request_header_add Authorization "Bearer sk-test-123" gw0');
    // Host and port as the agent uses them, then inference only; the rest is refused with a page.
    const access = conf.split("\n").filter((l) => /^(http_access|deny_info) .*gw0/.test(l));
    expect(access).toEqual([
      "http_access deny gw0 !ocbox_gw_host",
      "http_access deny gw0 !gw0_port",
      "http_access deny gw0 ocbox_gw_refused",
      "http_access allow gw0 ocbox_gw_post ocbox_gw_inference",
      "http_access allow gw0 ocbox_gw_get ocbox_gw_models",
      "http_access deny gw0",
      "deny_info ERR_OCBOX_GATEWAY gw0",
    ]);
    expect(conf).toContain("acl gw0_port port 9101");
    expect(conf).toContain("request_header_access X-HTTP-Method-Override deny gw0");
    expect(conf.indexOf("http_access deny gw0\n")).toBeLessThan(conf.indexOf("http_access deny all"));
  });

  it("the gateway's path rules pass inference and models only", () => {
    const conf = squidConfig({
      allow: [],
      proxyPort: 1,
      gateways: [{ name: "gw0", listenPort: 2, agentPort: 3, upstream: "http://127.0.0.1:8080" }],
      paths,
    });
    const regex = (acl: string) => {
      const line = conf.split("\n").find((l) => l.startsWith(`acl ${acl} urlpath_regex `)) ?? "";
      const m = /urlpath_regex (-i )?(\S+)$/.exec(line);
      return new RegExp(m?.[2] ?? "^$", m?.[1] ? "i" : "");
    };
    const inference = regex("ocbox_gw_inference");
    const models = regex("ocbox_gw_models");
    const refused = regex("ocbox_gw_refused");
    const post = (p: string) => inference.test(p) && !refused.test(p);
    const get = (p: string) => models.test(p) && !refused.test(p);
    for (const p of [
      "/v1/chat/completions",
      "/chat/completions",
      "/api/v1/chat/completions",
      "/openai/v1/responses",
      "/v1/completions",
      "/v1/embeddings",
      "/v1/messages",
      "/v1/chat/completions?api-version=2024-10-01",
    ])
      expect(post(p), p).toBe(true);
    for (const p of [
      "/v1/files",
      "/v1/batches",
      "/v1/fine_tuning/jobs",
      "/v1/fine-tunes",
      "/v1/files/chat/completions",
      "/v1/uploads",
      "/v1/chat/completions/../../files",
      "/v1/files/..%2fchat/completions",
      "/v1/messages/batches",
      "/v1/responses/resp_1",
      "/a/b/c/d/chat/completions",
      "/v1/models",
    ])
      expect(post(p), p).toBe(false);
    for (const p of ["/v1/models", "/models", "/v1/models/qwen3-8b", "/v1/models/meta-llama/Llama-3.1-8B"])
      expect(get(p), p).toBe(true);
    for (const p of ["/v1/files", "/v1/models/../files", "/v1/files/models", "/v1/chat/completions"])
      expect(get(p), p).toBe(false);
  });

  it("a key a header cannot carry is refused with a fix", () => {
    expect(() =>
      squidConfig({
        allow: [],
        proxyPort: 1,
        gateways: [
          { name: "gw0", listenPort: 2, agentPort: 3, upstream: "http://127.0.0.1:8080", key: 'a"b' },
        ],
        paths,
      }),
    ).toThrow(/cannot carry/);
  });
});

describe("decision log", () => {
  const log = [
    "1795444436.491 40000 CONNECT deb.debian.org 443 deb.debian.org 200 NONE_NONE splice -",
    "1795444436.559 40000 CONNECT deb.debian.org 443 deb.debian.org 200 TCP_TUNNEL splice 203.0.113.80",
    "1795444436.614 40000 GET deb.debian.org 80 - 200 TCP_MISS - 203.0.113.80",
    "1795444436.646 40000 CONNECT registry.npmjs.org 443 registry.npmjs.org 200 TCP_DENIED bump -",
    "1795444436.656 40000 GET registry.npmjs.org 80 - 403 TCP_DENIED - -",
    "1795444436.665 40000 CONNECT deb.debian.org 443 registry.npmjs.org 200 NONE_NONE terminate -",
    "1795444436.744 40000 GET 203.0.113.80 80 - 403 TCP_DENIED - -",
    "1795444436.776 40000 CONNECT deb.debian.org 8443 deb.debian.org 200 TCP_DENIED bump -",
    "1795444436.800 40000 CONNECT deb.debian.org 443 - 403 TCP_DENIED - -",
    "1795444436.900 40001 POST 127.0.0.1 38080 - 200 TCP_MISS - 127.0.0.1 /v1/chat/completions",
    "1795444436.950 40001 POST 127.0.0.1 38080 - 403 TCP_DENIED - - /v1/files?purpose=fine-tune",
    "1795444436.990 40001 - - - - 0 NONE_NONE - - -",
    "1795444436.995 40001 CONNECT - 443 - 405 NONE_NONE - - -",
    "2026/11/23 14:33:49| not an access line",
  ].join("\n");
  const ctx = { allow: ["deb.debian.org"], gatewayPorts: { 40001: "gw0" } };

  it("turns squid's lines into allow/deny decisions with the deciding rule", () => {
    const d = parseDecisions(log, ctx);
    expect(d.map((x) => [x.method, x.host, x.port, x.decision, x.rule])).toEqual([
      ["CONNECT", "deb.debian.org", 443, "allow", "deb.debian.org"],
      ["GET", "deb.debian.org", 80, "allow", "deb.debian.org"],
      ["CONNECT", "registry.npmjs.org", 443, "deny", "not on the allowlist"],
      ["GET", "registry.npmjs.org", 80, "deny", "not on the allowlist"],
      [
        "CONNECT",
        "deb.debian.org",
        443,
        "deny",
        "TLS server name registry.npmjs.org is not on the allowlist",
      ],
      ["GET", "203.0.113.80", 80, "deny", "IP address (the allowlist names hosts)"],
      ["CONNECT", "deb.debian.org", 8443, "deny", "port (HTTP 80 and HTTPS 443 only)"],
      ["CONNECT", "deb.debian.org", 443, "deny", "resolves to the host itself"],
      ["POST", "127.0.0.1", 38080, "allow", "model gateway gw0"],
      [
        "POST",
        "127.0.0.1",
        38080,
        "deny",
        "model gateway gw0: not an inference request (method, path or Host)",
      ],
      [
        "-",
        "-",
        80,
        "deny",
        "model gateway gw0: a connection with no request (a TLS client without the relay's certificate, or an unfinished request)",
      ],
      ["CONNECT", "-", 443, "deny", "model gateway gw0: not an inference request (method, path or Host)"],
    ]);
    expect(d[9]?.path).toBe("/v1/files");
    expect(d[0]?.time).toBe(new Date(1795444436559).toISOString());
    expect(d[4]?.sni).toBe("registry.npmjs.org");
    expect(fromJsonl(toJsonl(d))).toEqual(d);
  });

  it("summarises per host and suggests allowlist lines for denied hosts only where a line helps", () => {
    const d = parseDecisions(log, ctx);
    const sum = summarise(d);
    expect(sum[0]).toMatchObject({ host: "deb.debian.org", allowed: 2, denied: 3 });
    expect(sum.find((s) => s.host === "registry.npmjs.org")).toMatchObject({ allowed: 0, denied: 2 });
    const sug = suggestions(d, ctx.allow);
    expect(sug.find((s) => s.host === "registry.npmjs.org")).toEqual({
      host: "registry.npmjs.org",
      denied: 3,
      entry: "registry.npmjs.org",
      why: "not on the allowlist",
    });
    expect(sug.find((s) => s.host === "203.0.113.80")?.entry).toBeUndefined();
    expect(sug.find((s) => s.host === "deb.debian.org")?.entry).toBeUndefined();
    expect(suggestionYaml(sug)).toBe("egress:\n  allow:\n    - registry.npmjs.org   # denied 3×\n");
  });
});

describe("sidecar ports", () => {
  it("proxy variables point at the relay on the agent's loopback and skip it for loopback", () => {
    expect(proxyEnv()).toMatchObject({
      HTTPS_PROXY: "http://127.0.0.1:3128",
      no_proxy: "127.0.0.1,localhost,::1",
    });
  });
  it("a port claimed twice inside the sandbox is a config error", () => {
    expect(() => checkEgressPorts({ allow: [] }, [3128])).toThrow(/both the egress proxy and host port 3128/);
    expect(() =>
      checkEgressPorts(
        { allow: [], gateways: [{ agentPort: 8080, upstream: "http://127.0.0.1:9" }] },
        [8080],
      ),
    ).toThrow(/both host port 8080/);
    expect(() =>
      checkEgressPorts({ allow: [], gateways: [{ agentPort: 1, upstream: "ftp://x" }] }, []),
    ).toThrow(/not http/);
  });
});
