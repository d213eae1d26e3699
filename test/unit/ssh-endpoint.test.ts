/** Issue 14 item 3: DOCKER_HOST=ssh://… read and turned into OpenSSH's forward, with no Docker. */
import { describe, expect, it } from "vitest";
import { OcboxError } from "../../src/errors.js";
import { parseSshEndpoint, tunnelArgv, tunnelFailure } from "../../src/runtime/ssh-endpoint.js";

describe("ssh endpoint", () => {
  it("reads user, host, port and the engine's socket (Docker's unless the URL names one)", () => {
    expect(parseSshEndpoint("ssh://me@box:2222")).toMatchObject({
      user: "me",
      host: "box",
      port: 2222,
      remoteSocket: "/var/run/docker.sock",
    });
    expect(parseSshEndpoint("ssh://box/run/podman/podman.sock")).toMatchObject({
      user: undefined,
      port: undefined,
      remoteSocket: "/run/podman/podman.sock",
    });
    expect(parseSshEndpoint("ssh://me@[::1]:22").host).toBe("::1");
  });

  it("refuses what it cannot use, saying how to write it", () => {
    for (const bad of ["ssh://", "ssh://me:secret@box", "ssh://box/x;rm", "ssh://box?a=1", "tcp://box"]) {
      const e = (() => {
        try {
          parseSshEndpoint(bad);
        } catch (err) {
          return err;
        }
        return undefined;
      })();
      expect(e, bad).toBeInstanceOf(OcboxError);
      expect((e as OcboxError).fix).toMatch(/ssh:\/\/USER@HOST/);
    }
  });

  it("forwards the socket with no prompt, no remote command and a private local socket", () => {
    const argv = tunnelArgv(parseSshEndpoint("ssh://me@box:2222"), "/tmp/d/engine.sock", "/etc/my_ssh");
    expect(argv.slice(0, 2)).toEqual(["-F", "/etc/my_ssh"]);
    expect(argv).toContain("-N");
    expect(argv).toContain("BatchMode=yes");
    expect(argv).toContain("ExitOnForwardFailure=yes");
    expect(argv).toContain("StreamLocalBindMask=0177");
    expect(argv.join(" ")).toContain("-L /tmp/d/engine.sock:/var/run/docker.sock -p 2222 -l me -- box");
    expect(argv).not.toContain("StrictHostKeyChecking=no");
    // A host that looks like an option stays the host.
    expect(tunnelArgv(parseSshEndpoint("ssh://box"), "/s", undefined).slice(-2)).toEqual(["--", "box"]);
  });

  it("names the real cause of a failed ssh: host key, key, socket", () => {
    const ep = parseSshEndpoint("ssh://me@box:2222");
    expect(tunnelFailure(ep, "Host key verification failed.\n", 255).fix).toMatch(/known_hosts/);
    expect(tunnelFailure(ep, "me@box: Permission denied (publickey).", 255).fix).toMatch(/ssh-agent/);
    expect(
      tunnelFailure(ep, "channel 2: open failed: connect failed: No such file or directory", 255).fix,
    ).toMatch(/\/var\/run\/docker.sock/);
    expect(tunnelFailure(ep, "sh: 1: ssh: not found", 127).fix).toMatch(/openssh-client/);
  });
});
