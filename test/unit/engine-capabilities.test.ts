/**
 * Issue 14 item 4: what an engine does differently from Docker is decided once from its /version
 * and /info answers, and ocbox's Docker-shaped options are translated in runtime/ only.
 */
import { describe, expect, it } from "vitest";
import { factsOf, withLibpodInfo } from "../../src/runtime/docker-engine.js";
import { engineCause, engineError } from "../../src/runtime/engine-errors.js";
import { extract } from "tar-stream";
import { AGENT_DNS } from "../../src/sandbox/egress-sidecar.js";
import { resolvConfArchive, resolvConfText } from "../../src/runtime/resolv-conf.js";
import { chooseEndpoint } from "../../src/runtime/connect.js";
import { FORWARD_FIX, forwardPolicyProblem } from "../../src/runtime/forward-policy.js";
import {
  engineCapabilities,
  importParams,
  securityOptFor,
  tmpfsBytes,
  tmpfsFor,
  ulimitsFor,
  unenforcedWarnings,
  volumeOptionsFor,
  type EngineFacts,
} from "../../src/runtime/engine-capabilities.js";

const docker: EngineFacts = {
  flavour: "docker",
  rootless: false,
  cgroupVersion: "1",
  cgroupDriver: "cgroupfs",
  memoryLimit: true,
  pidsLimit: true,
  cpuCfsQuota: true,
};
const podman: EngineFacts = { ...docker, flavour: "podman" };
const rootless: EngineFacts = { ...podman, rootless: true, cgroupDriver: "none" };

describe("engine facts", () => {
  it("tells Podman from Docker by /version's components, rootless by /info's security options", () => {
    const v = { Components: [{ Name: "Podman Engine" }, { Name: "Conmon" }] };
    const info = { SecurityOptions: ["name=seccomp,profile=default", "name=rootless"], CgroupVersion: "1" };
    expect(factsOf(v, info)).toMatchObject({ flavour: "podman", rootless: true, cgroupVersion: "1" });
    expect(
      factsOf({ Components: [{ Name: "Engine" }] }, { SecurityOptions: ["name=seccomp"] }),
    ).toMatchObject({
      flavour: "docker",
      rootless: false,
    });
  });
});

describe("Podman's own /libpod/info", () => {
  it("says rootless and which cgroup controllers the user may use (none on cgroup v1)", () => {
    const facts = factsOf(
      { Components: [{ Name: "Podman Engine" }] },
      { CgroupVersion: "1", MemoryLimit: true },
    );
    const rootlessV1 = withLibpodInfo(facts, {
      host: {
        cgroupVersion: "v1",
        cgroupManager: "cgroupfs",
        cgroupControllers: [],
        security: { rootless: true },
      },
    });
    expect(rootlessV1).toMatchObject({
      rootless: true,
      cgroupVersion: "1",
      memoryLimit: false,
      pidsLimit: false,
    });
    expect(engineCapabilities(rootlessV1).unenforced).toEqual(["memory", "cpu", "pids"]);
    const rootful = withLibpodInfo(facts, { host: { cgroupVersion: "v1", security: { rootless: false } } });
    expect(rootful).toMatchObject({ rootless: false, memoryLimit: true });
  });
});

describe("engine capabilities", () => {
  it("Docker needs no translation and enforces every limit", () => {
    const caps = engineCapabilities(docker);
    expect(caps).toMatchObject({
      importTagInRepo: false,
      tmpfsSizeAsBlocks: false,
      tmpfsOwnerAsU: false,
      seccompByPath: false,
      explicitUlimits: false,
      resolvConfByArchive: false,
      serialCreate: false,
      unenforced: [],
    });
    expect(unenforcedWarnings(caps)).toEqual([]);
  });

  it("rootful Podman: translations on, every limit enforced", () => {
    const caps = engineCapabilities(podman);
    expect(caps.importTagInRepo && caps.tmpfsSizeAsBlocks && caps.seccompByPath && caps.explicitUlimits).toBe(
      true,
    );
    expect(caps.resolvConfByArchive).toBe(true);
    expect(caps.serialCreate).toBe(false);
    expect(caps.unenforced).toEqual([]);
  });

  it("rootless Podman on cgroup v1 enforces no memory, CPU or PID limit, and says so", () => {
    const caps = engineCapabilities(rootless);
    expect(caps.usernsMode).toBe("keep-id");
    expect(caps.serialCreate).toBe(true);
    expect(engineCapabilities(podman).usernsMode).toBeUndefined();
    expect(caps.unenforced).toEqual(["memory", "cpu", "pids"]);
    const warnings = unenforcedWarnings(caps);
    expect(warnings.map((w) => w.key)).toEqual([
      "engine.limits.memory",
      "engine.limits.cpu",
      "engine.limits.pids",
    ]);
    expect(warnings[0]?.warning).toMatch(/no memory limit \(rootless Podman without cgroup v2/);
  });

  it("rootless Podman on cgroup v2 with systemd enforces them", () => {
    const caps = engineCapabilities({ ...rootless, cgroupVersion: "2", cgroupDriver: "systemd" });
    expect(caps.unenforced).toEqual([]);
  });

  it("an engine whose /info says it cannot limit memory is believed", () => {
    expect(engineCapabilities({ ...docker, memoryLimit: false }).unenforced).toEqual(["memory"]);
  });
});

describe("translations", () => {
  const caps = engineCapabilities(podman);
  const plain = engineCapabilities(docker);

  it("a tmpfs volume's size becomes the same size in 4 KiB pages on Podman", () => {
    const opts = { type: "tmpfs", device: "tmpfs", o: "size=1m,mode=0700,uid=1000,gid=1000" };
    expect(volumeOptionsFor(caps, opts).o).toBe("nr_blocks=256,mode=0700,uid=1000,gid=1000");
    expect(volumeOptionsFor(plain, opts)).toEqual(opts);
    expect(volumeOptionsFor(caps, { type: "tmpfs", device: "tmpfs", o: "size=1g,nosuid" }).o).toBe(
      "nr_blocks=262144,nosuid",
    );
    expect(volumeOptionsFor(caps, {})).toEqual({});
    // Rootless: the user is uid 0 of the namespace the volume is mounted in.
    const rl = engineCapabilities({ ...rootless, serviceUser: { uid: 1000, gid: 1000 } });
    expect(volumeOptionsFor(rl, opts).o).toBe("nr_blocks=256,mode=0700,uid=0,gid=0");
    expect(tmpfsBytes("512k")).toBe(512 * 1024);
    expect(tmpfsBytes("1x")).toBeUndefined();
  });

  it("container tmpfs owned by the container's user becomes `U` on Podman; another owner is a gap", () => {
    const t = { "/home/agent": "rw,size=512m,mode=0700,uid=1000,gid=1000", "/tmp": "rw,size=1g,mode=1777" };
    expect(tmpfsFor(caps, t, "1000:1000")).toEqual({
      tmpfs: { "/home/agent": "rw,size=512m,mode=0700,U", "/tmp": "rw,size=1g,mode=1777" },
      unsupported: [],
    });
    expect(tmpfsFor(caps, t, "1001:1001").unsupported).toEqual([
      "/home/agent (uid=1000,gid=1000 with user 1001:1001)",
    ]);
    expect(tmpfsFor(plain, t, "1001:1001")).toEqual({ tmpfs: t, unsupported: [] });
  });

  it("Podman gets nofile and nproc stated; Docker only what ocbox sets", () => {
    expect(ulimitsFor(plain, 4096)).toEqual([
      { Name: "core", Soft: 0, Hard: 0 },
      { Name: "nofile", Soft: 4096, Hard: 4096 },
    ]);
    expect(ulimitsFor(plain)).toEqual([{ Name: "core", Soft: 0, Hard: 0 }]);
    expect(ulimitsFor(caps).map((u) => u.Name)).toEqual(["core", "nofile", "nproc"]);
  });

  it("an inline seccomp profile becomes a file path on Podman; other options stay", () => {
    const opts = ["no-new-privileges:true", 'seccomp={"defaultAction":"SCMP_ACT_ERRNO"}'];
    const written: string[] = [];
    const out = securityOptFor(caps, opts, (json) => {
      written.push(json);
      return "/cache/ocbox/seccomp/abc.json";
    });
    expect(out).toEqual(["no-new-privileges:true", "seccomp=/cache/ocbox/seccomp/abc.json"]);
    expect(written).toEqual(['{"defaultAction":"SCMP_ACT_ERRNO"}']);
    expect(securityOptFor(caps, ["seccomp=unconfined"], () => "x")).toEqual(["seccomp=unconfined"]);
    expect(securityOptFor(plain, opts, () => "x")).toEqual(opts);
  });

  it("an import's tag goes into `repo` on Podman (its compat API ignores `tag`)", () => {
    expect(importParams(caps, "ocbox/debian-base:bookworm")).toEqual({ repo: "ocbox/debian-base:bookworm" });
    expect(importParams(plain, "ocbox/debian-base:bookworm")).toEqual({
      repo: "ocbox/debian-base",
      tag: "bookworm",
    });
    expect(importParams(plain, "localhost:5000/base")).toEqual({
      repo: "localhost:5000/base",
      tag: "latest",
    });
  });
});

describe("the agent's resolv.conf where the engine writes none (Podman, no network)", () => {
  it("is the text Docker writes: nameserver lines, then one options line", () => {
    expect(resolvConfText(AGENT_DNS)).toBe("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n");
    expect(resolvConfText({ servers: ["10.0.0.2", "10.0.0.3"], options: [] })).toBe(
      "nameserver 10.0.0.2\nnameserver 10.0.0.3\n",
    );
  });
  it("goes in as etc/resolv.conf of the container's root, root's and world-readable", async () => {
    const entries: Array<{ name: string; mode?: number; uid?: number; body: string }> = [];
    const x = extract();
    x.on("entry", (h, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on("data", (c) => chunks.push(c as Buffer));
      stream.on("end", () => {
        entries.push({ name: h.name, mode: h.mode, uid: h.uid, body: Buffer.concat(chunks).toString() });
        next();
      });
    });
    const done = new Promise<void>((res) => x.on("finish", () => res()));
    x.end(await resolvConfArchive(AGENT_DNS));
    await done;
    expect(entries).toEqual([
      { name: "etc/resolv.conf", mode: 0o644, uid: 0, body: resolvConfText(AGENT_DNS) },
    ]);
  });
});

describe("engine errors name the real cause (item 5)", () => {
  it("a path the engine cannot see, on Docker and on Podman", () => {
    const docker = engineCause(
      '(HTTP code 400) unexpected - invalid mount config for type "bind": bind source path does not exist: /home/u/.local/state/ocbox/run/r-1',
    );
    expect(docker).toMatchObject({ kind: "path-not-visible" });
    expect(docker?.message).toContain("/home/u/.local/state/ocbox/run/r-1");
    expect(docker?.fix).not.toMatch(/memory|disk/);
    expect(engineCause("statfs /Users/me/ws: no such file or directory")?.kind).toBe("path-not-visible");
  });

  it("a Podman API gap, a limit the engine may not raise, a rootless limit", () => {
    expect(
      engineCause("volume options size and inodes not supported. Filesystem does not support Project Quota")
        ?.kind,
    ).toBe("podman-gap");
    expect(
      engineCause('container create: unknown mount option "uid=64000": invalid mount option')?.kind,
    ).toBe("podman-gap");
    const rl = engineCause("error setting rlimit type 6: operation not permitted: OCI permission denied");
    expect(rl).toMatchObject({ kind: "rlimit" });
    expect(rl?.message).toContain("nproc");
    expect(engineCause("cannot set limits without cgroups: rootless")?.kind).toBe("rootless");
    expect(engineCause("no such image")).toBeUndefined();
  });

  it("engineError carries the cause's message and fix", () => {
    const e = engineError(
      "unix:///run/podman/podman.sock",
      "create volume",
      Object.assign(new Error("volume options size and inodes not supported"), { statusCode: 500 }),
      true,
    );
    expect(e.message).toMatch(/refused to create volume: Podman's Docker-compatible API/);
    expect(e.fix).toMatch(/engine-capabilities/);
  });
});

describe("rootful Podman beside dockerd: the FORWARD policy", () => {
  const docker = [
    "-P FORWARD DROP",
    "-A FORWARD -j DOCKER-USER",
    "-A FORWARD -j DOCKER-ISOLATION-STAGE-1",
    "-A FORWARD -o docker0 -j DOCKER",
  ];
  it("DROP with no Podman rule is named, with a fix that keeps dockerd running", () => {
    expect(forwardPolicyProblem(docker.join("\n"))).toMatch(/FORWARD policy is DROP/);
    expect(FORWARD_FIX).toMatch(/DOCKER-USER -i podman0 -j ACCEPT/);
    expect(FORWARD_FIX).not.toMatch(/systemctl stop docker/);
  });
  it("netavark's own chain first (as on this machine), or an ACCEPT policy, is fine", () => {
    const netavark = [
      docker[0],
      '-A FORWARD -m comment --comment "netavark firewall plugin rules" -j NETAVARK_FORWARD',
      ...docker.slice(1),
    ];
    expect(forwardPolicyProblem(netavark.join("\n"))).toBeUndefined();
    expect(forwardPolicyProblem("-P FORWARD ACCEPT")).toBeUndefined();
  });
});

describe("a driver for another engine than the process's", () => {
  it("takes a unix DOCKER_HOST from the env it is given, not from process.env", () => {
    const choice = chooseEndpoint({ DOCKER_HOST: "unix:///run/podman/podman.sock" }, () => false);
    expect(choice.options).toEqual({ socketPath: "/run/podman/podman.sock" });
    expect(choice.endpoint).toBe("unix:///run/podman/podman.sock");
  });
});
