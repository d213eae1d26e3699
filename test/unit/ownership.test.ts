import { execFileSync, spawnSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pack as tarPack } from "tar-stream";
import { describe, expect, it } from "vitest";
import { controlFileFor, egressControlRoot } from "../../src/egress/control.js";
import { OcboxError } from "../../src/errors.js";
import type { ContainerSummary, Engine } from "../../src/runtime/engine.js";
import { LABEL } from "../../src/runtime/labels.js";
import { ownerLiveness, type ProcessProbe } from "../../src/runtime/owner.js";
import { lendWorkspace, swapOwner } from "../../src/sandbox/ownership.js";
import { reap } from "../../src/sandbox/reaper.js";
import { removeTree } from "../../src/sandbox/remove-tree.js";
import { runDirOwner, runDirPrefix, runDirsRoot } from "../../src/sandbox/run-dir.js";
import { sandboxesOnTree } from "../../src/sandbox/shared-tree.js";
import { slotOwner, slotPrefix, slotsRoot } from "../../src/sandbox/slot-dir.js";

const errno = (code: string) => Object.assign(new Error(code), { code });
const stat = (start: string, state = "S") =>
  `42 (a (weird) name) ${state} ${Array.from({ length: 18 }, (_, i) => i).join(" ")} ${start} 7 8`;
const probe = (readStat: () => string, signal: () => void = () => undefined): ProcessProbe => ({
  platform: "linux",
  readStat,
  signal,
});
const owner = { host: "h", pid: 42, start: "900" };

describe("owner liveness", () => {
  it("is unknown, never dead, for an owner in another pid namespace (ocbox in a container)", () => {
    const gone = () => {
      throw errno("ENOENT");
    };
    const esrch = () => {
      throw errno("ESRCH");
    };
    const here = { ...probe(gone, esrch), pidns: () => "pid:[1]" };
    expect(ownerLiveness({ ...owner, pidns: "pid:[2]" }, here)).toBe("unknown");
    expect(ownerLiveness({ ...owner, pidns: "pid:[1]" }, here)).toBe("dead");
    // Resources of an ocbox before the label: judged as before.
    expect(ownerLiveness(owner, here)).toBe("dead");
  });
  it("is alive for the same start time and dead for another (a reused pid)", () => {
    expect(
      ownerLiveness(
        owner,
        probe(() => stat("900")),
      ),
    ).toBe("alive");
    expect(
      ownerLiveness(
        owner,
        probe(() => stat("901")),
      ),
    ).toBe("dead");
  });
  it("is dead for a zombie (killed, its parent has not waited yet): kill -9 then the next command", () => {
    expect(
      ownerLiveness(
        owner,
        probe(() => stat("900", "Z")),
      ),
    ).toBe("dead");
    expect(
      ownerLiveness(
        owner,
        probe(() => stat("900", "X")),
      ),
    ).toBe("dead");
    expect(
      ownerLiveness(
        owner,
        probe(() => stat("900", "R")),
      ),
    ).toBe("alive");
  });
  it("is unknown, never dead, when the /proc entry exists but cannot be read", () => {
    const unreadable = () => {
      throw errno("EACCES");
    };
    expect(ownerLiveness(owner, probe(unreadable))).toBe("unknown");
    expect(
      ownerLiveness(
        owner,
        probe(() => "garbage"),
      ),
    ).toBe("unknown");
  });
  it("asks the kernel when /proc hides the entry (hidepid): dead only on ESRCH", () => {
    const hidden = () => {
      throw errno("ENOENT");
    };
    const notOurs = () => {
      throw errno("EPERM");
    };
    const gone = () => {
      throw errno("ESRCH");
    };
    expect(ownerLiveness(owner, probe(hidden, notOurs))).toBe("unknown");
    expect(ownerLiveness(owner, probe(hidden, gone))).toBe("dead");
  });
  it("reads this machine's processes: this one alive, an exited child dead", () => {
    expect(ownerLiveness({ host: "h", pid: process.pid, start: "" })).toBe("alive");
    const child = spawnSync("true");
    expect(ownerLiveness({ host: "h", pid: child.pid ?? 0, start: "1" })).toBe("dead");
  });
});

const asRoot = process.getuid?.() === 0;

describe("swapOwner", () => {
  it("re-owns links themselves, never what they point at", async () => {
    const base = mkdtempSync(join(tmpdir(), "ocbox-own-"));
    const tree = join(base, "tree");
    const outside = join(base, "outside");
    mkdirSync(join(tree, "sub"), { recursive: true });
    mkdirSync(outside);
    writeFileSync(join(outside, "host-file"), "x");
    writeFileSync(join(tree, "sub", "f"), "y");
    symlinkSync(outside, join(tree, "dirlink"));
    symlinkSync(join(outside, "host-file"), join(tree, "sub", "filelink"));
    const me = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
    const to = asRoot ? { uid: 64123, gid: 64123 } : me;
    const report = await swapOwner(tree, me, to);
    expect(report.failed).toEqual([]);
    expect(report.changed).toBe(5);
    expect(lstatSync(join(tree, "dirlink")).uid).toBe(to.uid);
    expect(lstatSync(join(tree, "sub", "filelink")).uid).toBe(to.uid);
    expect(statSync(outside).uid).toBe(me.uid);
    expect(statSync(join(outside, "host-file")).uid).toBe(me.uid);
  });
  it("reports a failed chown as a typed error instead of counting it as done", async () => {
    const tree = mkdtempSync(join(tmpdir(), "ocbox-own-"));
    const file = join(tree, "pinned");
    writeFileSync(file, "x");
    const me = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
    // As root, an immutable file refuses chown (EPERM); as anyone else, so does every other uid.
    if (asRoot) execFileSync("chattr", ["+i", file]);
    try {
      const report = await swapOwner(tree, me, { uid: 64124, gid: 64124 });
      expect(report.failed).toEqual([expect.stringMatching(/pinned: .*EPERM/)]);
      expect(report.changed).toBe(asRoot ? 1 : 0); // the tree's root dir changed; the file did not
      const lend = lendWorkspace(tree, me, { uid: 64124, gid: 64124 });
      await expect(lend).rejects.toBeInstanceOf(OcboxError);
      await expect(lend).rejects.toMatchObject({ code: "OWNERSHIP" });
    } finally {
      if (asRoot) execFileSync("chattr", ["-i", file]);
    }
  });
  it("refuses a root that is a symlink", async () => {
    const base = mkdtempSync(join(tmpdir(), "ocbox-own-"));
    symlinkSync("/", join(base, "root-link"));
    await expect(
      swapOwner(join(base, "root-link"), { uid: 0, gid: 0 }, { uid: 1, gid: 1 }),
    ).rejects.toMatchObject({
      code: "OWNERSHIP",
    });
  });
});

describe("removeTree", () => {
  it("removes dirs of any mode and links, never their targets", async () => {
    const base = mkdtempSync(join(tmpdir(), "ocbox-rm-"));
    const tree = join(base, "slot");
    const keep = join(base, "keep");
    mkdirSync(join(tree, "a", "b"), { recursive: true });
    mkdirSync(keep);
    writeFileSync(join(keep, "precious"), "x");
    writeFileSync(join(tree, "a", "b", "f"), "y");
    symlinkSync(keep, join(tree, "a", "to-keep"));
    execFileSync("mkfifo", [join(tree, "fifo")]);
    chmodSync(join(tree, "a", "b"), 0o000);
    chmodSync(join(tree, "a"), 0o300);
    chmodSync(tree, 0o300);
    await removeTree(tree);
    expect(existsSync(tree)).toBe(false);
    expect(existsSync(join(keep, "precious"))).toBe(true);
  });
  it("removes a link at the top as a link", async () => {
    const base = mkdtempSync(join(tmpdir(), "ocbox-rm-"));
    mkdirSync(join(base, "target"));
    symlinkSync(join(base, "target"), join(base, "link"));
    await removeTree(join(base, "link"));
    expect(existsSync(join(base, "target"))).toBe(true);
    await removeTree(join(base, "missing"));
  });
});

describe("warm-pool slots have their own names", () => {
  it("no run-dir name parses as a slot and no slot name as a run dir", () => {
    const o = { host: "h", pid: 7, start: "99" };
    expect(slotOwner(`${slotPrefix(o)}Ab1`, "h")).toEqual(o);
    expect(runDirOwner(`${slotPrefix(o)}Ab1`, "h")).toBeUndefined();
    expect(slotOwner(`${runDirPrefix(o)}Ab1`, "h")).toBeUndefined();
  });
});

describe("sandboxesOnTree", () => {
  const c = (name: string, workspace: string, state = "running", run = "r1"): ContainerSummary => ({
    id: name,
    name,
    image: "i",
    state,
    status: state,
    createdAt: new Date(0),
    labels: {
      [LABEL.role]: "agent",
      [LABEL.sandbox]: name,
      [LABEL.run]: run,
      [LABEL.workspace]: workspace,
    },
  });
  const self = { sandboxId: "me", runId: "r1" };
  it("finds live agents on the tree, inside it or around it", () => {
    const all = [
      c("same", "/p"),
      c("inside", "/p/sub"),
      c("around", "/"),
      c("sibling", "/p2"),
      c("exited", "/p", "exited"),
      c("me", "/p"),
    ];
    expect(sandboxesOnTree(all, "/p", self).map((x) => x.name)).toEqual(["same", "inside", "around"]);
  });
});

describe("the reaper and a dead owner's dirs", () => {
  const held: string[] = [];
  const emptyEngine = {
    listContainers: () => Promise.resolve([]),
    listVolumes: () => Promise.resolve([]),
    // The egress volume a crashed owner left, read through a reader container.
    volumeExists: (name: string) => Promise.resolve(name === "vol-egr"),
    createContainer: () => Promise.resolve("reader"),
    removeContainer: () => Promise.resolve(),
    getArchive: () => {
      const p = tarPack();
      p.entry({ name: "access.log" }, held.join(""));
      p.finalize();
      return Promise.resolve(p);
    },
  } as unknown as Engine;
  const ACCESS = "1795444436.646 40000 CONNECT evil.example 443 evil.example 200 TCP_DENIED bump -\n";

  it("removes slots and run dirs unread, whatever control data the agent planted; collects only through ocbox's record", async () => {
    const base = mkdtempSync(join(tmpdir(), "ocbox-reap-"));
    const env = { XDG_STATE_HOME: join(base, "state") };
    const bashrc = join(base, ".bashrc");
    writeFileSync(bashrc, "mine\n");
    const planted = JSON.stringify({ allow: [], gatewayPorts: {}, decisionLog: bashrc });
    const dead = { host: "h", pid: 999_999, start: "5" };
    // A warm-pool slot and an old-style run dir, each with a planted context.json and access.log.
    const slot = join(slotsRoot(env), `${slotPrefix(dead)}abc`);
    const oldStyle = join(runDirsRoot(env), `${runDirPrefix(dead)}old`);
    for (const d of [slot, oldStyle]) {
      mkdirSync(join(d, "deep"), { recursive: true });
      writeFileSync(join(d, "context.json"), planted);
      writeFileSync(join(d, "access.log"), ACCESS);
      chmodSync(join(d, "deep"), 0o000);
      chmodSync(d, 0o300);
    }
    // An older ocbox's egress dir with its (version 1) record: removed unread.
    const egressDir = join(runDirsRoot(env), `${runDirPrefix(dead)}egr`);
    mkdirSync(egressDir, { recursive: true });
    writeFileSync(join(egressDir, "access.log"), ACCESS);
    writeFileSync(join(egressDir, "context.json"), planted); // ignored: the sidecar could write it
    const log = join(base, "decisions.jsonl");
    mkdirSync(egressControlRoot(env), { recursive: true });
    const oldLog = join(base, "old.jsonl");
    writeFileSync(
      controlFileFor(`${runDirPrefix(dead)}egr`, env),
      JSON.stringify({ version: 1, egressDir, allow: [], gatewayPorts: {}, decisionLog: oldLog }),
    );
    // A sidecar's volume with its record in ocbox's own dir: collected through the engine.
    held.push(ACCESS);
    const id = `${runDirPrefix(dead)}new`;
    writeFileSync(
      controlFileFor(id, env),
      JSON.stringify({
        version: 2,
        id,
        volume: "vol-egr",
        image: "e",
        allow: [],
        gatewayPorts: {},
        decisionLog: log,
      }),
    );

    const report = await reap(emptyEngine, { env, host: "h", liveness: () => "dead" });
    expect(report.errors).toEqual([]);
    expect(readFileSync(bashrc, "utf8")).toBe("mine\n");
    for (const d of [slot, oldStyle, egressDir]) expect(existsSync(d), d).toBe(false);
    expect(readFileSync(log, "utf8")).toContain('"host":"evil.example"');
    expect(existsSync(oldLog)).toBe(false);
    expect(existsSync(controlFileFor(id, env))).toBe(false);
    expect(existsSync(controlFileFor(`${runDirPrefix(dead)}egr`, env))).toBe(false);
  });

  it("keeps the dirs of an owner whose liveness is unknown", async () => {
    const base = mkdtempSync(join(tmpdir(), "ocbox-reap-"));
    const env = { XDG_STATE_HOME: join(base, "state") };
    const slot = join(slotsRoot(env), `${slotPrefix({ host: "h", pid: 7, start: "1" })}abc`);
    mkdirSync(slot, { recursive: true });
    await reap(emptyEngine, { env, host: "h", liveness: () => "unknown" });
    expect(existsSync(slot)).toBe(true);
  });
});
