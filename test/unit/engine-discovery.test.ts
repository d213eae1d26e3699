/** Issue 14 item 3: finding the engine through Docker contexts and per-user sockets, on fake dirs. */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { chooseEndpoint } from "../../src/runtime/connect.js";
import { OcboxError } from "../../src/errors.js";

const home = () => mkdtempSync(join(tmpdir(), "ocbox-discovery-"));
const noSystemSockets = (path: string) => !path.startsWith("/var/run/") && !path.startsWith("/run/");

function context(h: string, name: string, host: string, tls = false): void {
  const id = createHash("sha256").update(name).digest("hex");
  const meta = join(h, ".docker", "contexts", "meta", id);
  mkdirSync(meta, { recursive: true });
  writeFileSync(
    join(meta, "meta.json"),
    JSON.stringify({ Name: name, Endpoints: { docker: { Host: host } } }),
  );
  if (tls) {
    const dir = join(h, ".docker", "contexts", "tls", id, "docker");
    mkdirSync(dir, { recursive: true });
    for (const f of ["ca.pem", "cert.pem", "key.pem"]) writeFileSync(join(dir, f), `${f} text`);
  }
}

const exists = (path: string): boolean => noSystemSockets(path) && existsSync(path);
describe("engine discovery", () => {
  it("DOCKER_HOST wins over a context, ssh:// included (through OpenSSH's forward)", () => {
    const h = home();
    context(h, "remote", "tcp://10.1.2.3:2375");
    writeFileSync(join(h, ".docker", "config.json"), JSON.stringify({ currentContext: "remote" }));
    const c = chooseEndpoint({ HOME: h, DOCKER_HOST: "ssh://ci@build" }, () => false);
    expect(c).toMatchObject({ endpoint: "ssh://ci@build", source: "DOCKER_HOST" });
    expect(c.ssh).toEqual({
      url: "ssh://ci@build",
      user: "ci",
      host: "build",
      port: undefined,
      remoteSocket: "/var/run/docker.sock",
    });
  });

  it("the current context of ~/.docker/config.json: tcp with its TLS files, ssh through OpenSSH", () => {
    const h = home();
    context(h, "secure", "tcp://engine.example:2376", true);
    writeFileSync(join(h, ".docker", "config.json"), JSON.stringify({ currentContext: "secure" }));
    const c = chooseEndpoint({ HOME: h }, exists);
    expect(c).toMatchObject({
      endpoint: "tcp://engine.example:2376",
      source: "docker context",
      via: "secure",
      options: {
        protocol: "https",
        host: "engine.example",
        port: 2376,
        ca: "ca.pem text",
        key: "key.pem text",
      },
    });
    context(h, "over-ssh", "ssh://me@box:2222");
    const s = chooseEndpoint(
      { HOME: h, DOCKER_CONTEXT: "over-ssh", SSH_AUTH_SOCK: "/tmp/agent" },
      () => false,
    );
    expect(s.options).toBeUndefined();
    expect(s.ssh).toMatchObject({
      user: "me",
      host: "box",
      port: 2222,
      remoteSocket: "/var/run/docker.sock",
    });
  });

  it("the default context falls through to the sockets; a broken context says how to fix it", () => {
    const h = home();
    mkdirSync(join(h, ".docker"), { recursive: true });
    writeFileSync(join(h, ".docker", "config.json"), JSON.stringify({ currentContext: "default" }));
    expect(chooseEndpoint({ HOME: h }, (p) => p === "/var/run/docker.sock").source).toBe("docker socket");
    const e = (() => {
      try {
        chooseEndpoint({ HOME: h, DOCKER_CONTEXT: "gone" }, () => false);
      } catch (err) {
        return err;
      }
    })();
    expect(e).toBeInstanceOf(OcboxError);
    expect((e as OcboxError).message).toContain('"gone"');
    expect((e as OcboxError).fix).toContain("docker context use");
  });

  it.each([
    [".docker/run/docker.sock", "Docker Desktop"],
    [".colima/default/docker.sock", "Colima"],
    [".rd/docker.sock", "Rancher Desktop"],
    [".local/share/containers/podman/machine/qemu/podman.sock", "Podman machine"],
  ])("finds %s (%s) when no system socket exists", (rel, what) => {
    const h = home();
    const path = join(h, rel);
    mkdirSync(join(path, ".."), { recursive: true });
    writeFileSync(path, "");
    const c = chooseEndpoint({ HOME: h }, exists);
    expect(c).toMatchObject({ endpoint: `unix://${path}`, source: "user socket", via: what });
  });

  it("the system Docker socket comes before per-user ones", () => {
    const h = home();
    const desktop = join(h, ".docker", "run", "docker.sock");
    mkdirSync(join(desktop, ".."), { recursive: true });
    writeFileSync(desktop, "");
    const c = chooseEndpoint({ HOME: h }, (p) => p === "/var/run/docker.sock" || p === desktop);
    expect(c.source).toBe("docker socket");
  });
});
