/**
 * FEATURES B4: a model gateway whose upstream is a container on another Docker network
 * (`egress.gateways[].network`): the config key, the lookup among the network's members with its
 * errors, the Squid peer, and the summary line.
 */
import { describe, expect, it } from "vitest";
import { parseProjectConfig } from "../../src/config/parse.js";
import { egressSpecFromConfig } from "../../src/egress/config.js";
import { memberAddress } from "../../src/egress/gateway-network.js";
import { squidConfig } from "../../src/egress/squid.js";
import { errorOf } from "../helpers/fixtures.js";
import type { NetworkMember } from "../../src/runtime/engine.js";
import { securityLines, securityProfile } from "../../src/sandbox/profile.js";

const yaml = (upstream: string, network: string) =>
  `egress:\n  gateways:\n    - upstream: ${upstream}\n      port: 9102\n      network: ${network}\n`;

describe("egress.gateways[].network in ocbox.yaml", () => {
  it("reads it and carries it into the egress spec", () => {
    const config = parseProjectConfig(yaml("http://llama:8080", "llm-net"), "ocbox.yaml");
    expect(config.egress.gateways).toEqual([
      { upstream: "http://llama:8080", port: 9102, network: "llm-net" },
    ]);
    expect(egressSpecFromConfig(config.egress, {}).gateways).toEqual([
      { agentPort: 9102, upstream: "http://llama:8080", network: "llm-net" },
    ]);
  });

  it("refuses a bad network name, and an IP or localhost upstream with a network, with file:line and a fix", () => {
    const bad = errorOf(() => parseProjectConfig(yaml("http://llama:8080", "'llm net'"), "ocbox.yaml"));
    expect(bad.message).toMatch(
      /ocbox\.yaml:5:\d+: egress\.gateways\[0\]\.network: "llm net" is not a Docker network name/,
    );
    const ip = errorOf(() => parseProjectConfig(yaml("http://172.18.0.2:8080", "llm-net"), "ocbox.yaml"));
    expect(ip.message).toMatch(
      /egress\.gateways\[0\]\.upstream: "172\.18\.0\.2" is not a container name, and network llm-net is given/,
    );
    expect(ip.message).toMatch(/fix: write the model container's name or network alias as the host/);
    expect(
      errorOf(() => parseProjectConfig(yaml("http://localhost:8080", "llm-net"), "ocbox.yaml")).message,
    ).toMatch(/"localhost" is not a container name/);
  });
});

describe("the upstream's address on the network", () => {
  const where = { field: "egress.gateways[0].network", network: "llm-net", host: "llama" };
  const members: NetworkMember[] = [
    { name: "llama-server", aliases: ["llama", "0123abcd"], running: true, ipv4: "172.30.0.2" },
    { name: "lama", aliases: [], running: false },
    { name: "v6only", aliases: [], running: true },
  ];

  it("finds a container by name first, then by alias", () => {
    expect(memberAddress(members, where)).toBe("172.30.0.2");
    expect(memberAddress(members, { ...where, host: "llama-server" })).toBe("172.30.0.2");
  });

  it("names the config field and the fix when the network, the container or its address is missing", () => {
    const none = errorOf(() => memberAddress(undefined, where));
    expect(none.code).toBe("CONFIG");
    expect(none.message).toBe('egress.gateways[0].network: there is no Docker network "llm-net"');
    expect(none.fix).toMatch(/docker network create llm-net/);

    const missing = errorOf(() => memberAddress(members, { ...where, host: "llama2" }));
    expect(missing.message).toBe(
      'egress.gateways[0].network: no container on network llm-net is named or aliased "llama2"',
    );
    expect(missing.fix).toMatch(/Did you mean llama\?/);
    expect(errorOf(() => memberAddress([], { ...where, host: "x" })).detail).toBe(
      "llm-net has no containers",
    );

    const stopped = errorOf(() => memberAddress(members, { ...where, host: "lama" }));
    expect(stopped.message).toBe(
      "egress.gateways[0].network: container lama on network llm-net is not running",
    );
    expect(stopped.fix).toBe("Start it (docker start lama) and start the sandbox again.");

    expect(errorOf(() => memberAddress(members, { ...where, host: "v6only" })).message).toMatch(
      /has no IPv4 address on network llm-net/,
    );
  });
});

describe("squid and the summary", () => {
  it("squid connects to the address and keeps the name as the site", () => {
    const conf = squidConfig({
      allow: [],
      proxyPort: 40000,
      gateways: [
        {
          name: "gw0",
          listenPort: 41000,
          agentPort: 9102,
          upstream: "http://llama:8080",
          address: "172.30.0.2",
        },
      ],
      paths: {
        accessLog: "/a",
        cert: "/c",
        pidFile: "/p",
        localAddrs: "/l",
        errorDir: "/e",
        gatewayPem: "/g.pem",
        relayCert: "/r.crt",
      },
    });
    expect(conf).toContain(
      "https_port 127.0.0.1:41000 accel vhost defaultsite=llama:8080 name=gw0 tls-cert=/g.pem clientca=/r.crt",
    );
    expect(conf).toContain(
      "cache_peer 172.30.0.2 parent 8080 0 no-query no-digest no-netdb-exchange originserver forceddomain=llama:8080 name=gw0_up",
    );
  });

  it("the summary names the network", () => {
    const lines = securityLines(
      securityProfile({
        agentUser: { uid: 1000, gid: 1000 },
        forwardPorts: [],
        egress: {
          allow: [],
          gateways: [{ agentPort: 9102, upstream: "http://llama:8080", network: "llm-net" }],
        },
        limits: { memoryBytes: 4 * 1024 ** 3, nanoCpus: 2e9, pids: 1024, nofile: 4096 },
      } as unknown as Parameters<typeof securityProfile>[0]),
    ).join("\n");
    expect(lines).toMatch(
      /gateway\s+127\.0\.0\.1:9102 -> http:\/\/llama:8080 on Docker network llm-net \(agent's own key\)/,
    );
  });
});
