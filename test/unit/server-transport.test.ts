/** Reaching the server over the engine connection (issue 14 item 3): the pure choices. */
import { describe, expect, it } from "vitest";
import { OcboxError } from "../../src/errors.js";
import { transportOfEndpoint } from "../../src/sandbox/loopback-probe.js";
import { controlExec, parkedId, pickupArgv, reverseTargets } from "../../src/sandbox/reverse-relay.js";
import { SERVER_RELAY_ARGV, transportSetting } from "../../src/sandbox/server-transport.js";
import { egressContainer, hostRelayContainer, resourceNames } from "../../src/sandbox/containers.js";
import { testSpec } from "../helpers/fixtures.js";

describe("transport setting", () => {
  it("is auto by default and takes port or exec", () => {
    expect(transportSetting({})).toBe("auto");
    expect(transportSetting({ OCBOX_SERVER_TRANSPORT: " EXEC " })).toBe("exec");
    expect(transportSetting({ OCBOX_SERVER_TRANSPORT: "port" })).toBe("port");
  });
  it("refuses anything else, naming the variable and the choices", () => {
    const e = (() => {
      try {
        transportSetting({ OCBOX_SERVER_TRANSPORT: "tunnel" });
      } catch (err) {
        return err;
      }
    })();
    expect(e).toBeInstanceOf(OcboxError);
    expect((e as OcboxError).message).toContain("OCBOX_SERVER_TRANSPORT=tunnel");
    expect((e as OcboxError).fix).toContain("auto, port or exec");
  });
});

describe("the endpoint's own transport", () => {
  it("a remote engine is reached over exec relays; a socket needs the probe", () => {
    expect(transportOfEndpoint("tcp://10.0.0.5:2376")).toBe("exec");
    expect(transportOfEndpoint("ssh://ci@build-host")).toBe("exec");
    expect(transportOfEndpoint("unix:///var/run/docker.sock")).toBeUndefined();
    expect(transportOfEndpoint("/var/run/docker.sock")).toBeUndefined();
  });
});

describe("the reverse relay", () => {
  it("listens where the agent's and squid's relays expect, and connects only to the plan's targets", () => {
    const t = reverseTargets([5432], ["gw0=127.0.0.1:8080", "gw1=[::1]:9000", "bad"]);
    expect(t).toEqual([
      { listen: "/run/ocbox/sock/fwd-5432.sock", host: "127.0.0.1", port: 5432, what: "host port 5432" },
      { listen: "/run/ocbox/relay/up-gw0.sock", host: "127.0.0.1", port: 8080, what: "gateway gw0" },
      { listen: "/run/ocbox/relay/up-gw1.sock", host: "::1", port: 9000, what: "gateway gw1" },
    ]);
  });
  it("takes only a well-formed id line from the control exec", () => {
    expect(parkedId("ocbox-back 0123456789abcdef")).toBe("0123456789abcdef");
    expect(parkedId("ocbox-back ../../etc/passwd0000")).toBeUndefined();
    expect(parkedId("socat[12] E connect: refused")).toBeUndefined();
    expect(pickupArgv("0123456789abcdef").join(" ")).toContain("/tmp/ocbox-back/0123456789abcdef.sock");
  });
  it("the control exec's listener carries no destination of the agent's", () => {
    const { argv, env } = controlExec(reverseTargets([5432], [])[0]!);
    expect(argv.join(" ")).toContain("UNIX-LISTEN:/run/ocbox/sock/fwd-5432.sock,fork");
    expect(env.OCBOX_PARK).not.toMatch(/TCP|5432/);
  });
});

describe("the sidecar with the exec transport", () => {
  it("publishes nothing, binds its server relay to its own loopback, and no host relay is needed", () => {
    const spec = testSpec({});
    const names = resourceNames(spec.sandboxId, spec.runId);
    const exec = egressContainer(spec, names, 0, {}, undefined, {
      hostAddrs: [],
      hostRelay: true,
      transport: "exec",
    });
    expect(exec.publish).toEqual([]);
    expect(exec.env.OCBOX_PUBLISH).toBe("127.0.0.1:4096");
    expect(SERVER_RELAY_ARGV.join(" ")).toBe("socat - TCP:127.0.0.1:4096");
    const port = egressContainer(spec, names, 41234, {}, undefined, { hostAddrs: [], hostRelay: false });
    expect(port.publish).toEqual([{ hostIp: "127.0.0.1", hostPort: 41234, containerPort: 4096 }]);
    expect(hostRelayContainer(spec, names, {}).networkMode).toBe("host");
  });
});
