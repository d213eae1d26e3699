/**
 * Issue 13 item 16: squid in a network namespace of its own. The sidecar joins ocbox's bridge
 * network; only the host relay (socat, no parser) shares the host's namespace, and only when host
 * ports or gateway upstreams only the host reaches are listed. Squid refuses every address of the
 * engine's host, which its namespace reaches through the bridge gateway.
 */
import { describe, expect, it } from "vitest";
import { hostAddresses } from "../../src/egress/host-addresses.js";
import { hostOnlyTarget } from "../../src/egress/host-only-upstream.js";
import { needsHostRelay, prepareEgress } from "../../src/sandbox/egress-sidecar.js";
import { squidConfig } from "../../src/egress/squid.js";
import {
  EGRESS_NETWORK,
  egressContainer,
  hostRelayContainer,
  resourceNames,
} from "../../src/sandbox/containers.js";
import { engineIsLocal } from "../../src/sandbox/egress-network.js";
import { testSpec } from "../helpers/fixtures.js";

const names = resourceNames("s", "r");

describe("the egress sidecar's network namespace", () => {
  it("the sidecar is on ocbox's bridge network, publishes the server on 127.0.0.1 and shares nothing of the host's", () => {
    const c = egressContainer(testSpec({}), names, 4321, {}, undefined, {
      hostAddrs: ["10.0.0.1"],
      hostRelay: false,
    });
    expect(c.networkMode).toBe(EGRESS_NETWORK);
    expect(c.publish).toEqual([{ hostIp: "127.0.0.1", hostPort: 4321, containerPort: 4096 }]);
    expect(c.env.OCBOX_FORWARD_PORTS).toBeUndefined();
    expect(c.mounts.map((m) => m.target)).not.toContain("/run/ocbox/relay");
  });

  it("the host relay runs in the host's namespace with only the relay variables, and the agent never mounts its volume", () => {
    const spec = testSpec({ forwardPorts: [5432] });
    const r = hostRelayContainer(spec, names, {});
    expect(r.networkMode).toBe("host");
    expect(r.env).toEqual({ OCBOX_FORWARD_PORTS: "5432", OCBOX_UPSTREAMS: "" });
    expect(r).toMatchObject({ readOnlyRoot: true, capDrop: ["ALL"], capAdd: [] });
    expect(r.mounts.map((m) => m.source)).toEqual([names.socketVolume, names.relayVolume]);
  });

  it("a host relay exists only for host ports or a gateway only the host reaches", () => {
    const plan = (upstreams: string[]) => ({ upstreams }) as Parameters<typeof needsHostRelay>[0];
    expect(needsHostRelay(plan([]), [])).toBe(false);
    expect(needsHostRelay(plan([]), [8080])).toBe(true);
    expect(needsHostRelay(plan(["gw0=127.0.0.1:8080"]), [])).toBe(true);
  });

  it("upstreams on the host's loopback or a Docker network go through the host relay; outside ones do not", () => {
    expect(hostOnlyTarget({ agentPort: 1, upstream: "http://127.0.0.1:8080" })).toBe("127.0.0.1:8080");
    expect(hostOnlyTarget({ agentPort: 1, upstream: "http://localhost" })).toBe("127.0.0.1:80");
    expect(hostOnlyTarget({ agentPort: 1, upstream: "https://[::1]:9000" })).toBe("[::1]:9000");
    expect(hostOnlyTarget({ agentPort: 1, upstream: "http://llm:8000", address: "172.20.0.5" })).toBe(
      "172.20.0.5:8000",
    );
    expect(hostOnlyTarget({ agentPort: 1, upstream: "https://api.openai.com" })).toBeUndefined();
  });

  it("squid's peer for a relayed upstream is its own loopback port, keeping the upstream's Host and TLS name", async () => {
    const owner = { host: "h", pid: 1, start: "" };
    const env = { XDG_STATE_HOME: `/tmp/ocbox-unit-netns-${process.pid}` };
    const plan = await prepareEgress(
      { allow: [], gateways: [{ agentPort: 18080, upstream: "https://127.0.0.1:8443", key: "k" }] },
      [],
      owner,
      { volume: "v", image: "i" },
      env,
    );
    try {
      expect(plan.upstreamPorts).toEqual(["gw0=14000"]);
      expect(plan.upstreams).toEqual(["gw0=127.0.0.1:8443"]);
      const conf = squidConfig({
        allow: [],
        proxyPort: plan.proxyPort,
        gateways: [
          {
            name: "gw0",
            listenPort: 13000,
            agentPort: 18080,
            upstream: "https://127.0.0.1:8443",
            address: "127.0.0.1",
            peerPort: 14000,
          },
        ],
        paths: {
          accessLog: "a",
          cert: "c",
          pidFile: "p",
          localAddrs: "l",
          errorDir: "e",
          gatewayPem: "g",
          relayCert: "r",
        },
      });
      expect(conf).toContain(
        "cache_peer 127.0.0.1 parent 14000 0 no-query no-digest no-netdb-exchange originserver forceddomain=127.0.0.1:8443",
      );
      expect(conf).toContain("tls-servername=127.0.0.1");
    } finally {
      const { removeEgressControl } = await import("../../src/egress/control.js");
      await removeEgressControl(plan.controlFile);
    }
  });

  it("the refused addresses cover every interface, every network's gateway and the sidecar's own subnet", () => {
    const list = hostAddresses({
      interfaces: {
        lo: [{ address: "127.0.0.1" }, { address: "::1" }],
        eth0: [{ address: "192.168.1.7" }, { address: "fe80::1%eth0" }],
      },
      networks: [
        { name: "bridge", gateways: ["172.17.0.1"], subnets: ["172.17.0.0/16"] },
        { name: "llm-net", gateways: ["172.21.0.1"], subnets: ["172.21.0.0/16"] },
      ],
      egressNetwork: { name: EGRESS_NETWORK, gateways: ["172.19.0.1"], subnets: ["172.19.0.0/16", "bogus"] },
    });
    expect(list).toEqual(
      [
        "127.0.0.1",
        "172.17.0.1",
        "172.19.0.0/16",
        "172.19.0.1",
        "172.21.0.1",
        "192.168.1.7",
        "::1",
        "fe80::1",
      ].sort(),
    );
  });

  it("this machine's interfaces count only when the engine runs on it", () => {
    expect(engineIsLocal("unix:///var/run/docker.sock")).toBe(true);
    expect(engineIsLocal("tcp://10.0.0.2:2376")).toBe(false);
    expect(engineIsLocal("ssh://me@box")).toBe(false);
  });
});
