/**
 * Issue 15, item 3, the pure parts: the planner's task-image variant of a profile (root or not,
 * capabilities, workdir, limits), the agent container it gives (the task's image, the payload
 * read-only, no host path, NetworkMode none, hardening kept), the archive names the tree copy
 * takes, and the oracle's placeholder model.
 */
import { describe, expect, it } from "vitest";
import { withOracleModel, ORACLE_MODEL } from "../../src/eval/oracle-model.js";
import { payloadVolumeName } from "../../src/image/payload.js";
import {
  resolveTaskUser,
  rootTaskRuntime,
  ROOT_TASK_CAPS,
  taskImageProfile,
  TaskUserError,
  type TaskImageFacts,
} from "../../src/plan/task-image-plan.js";
import { parsePasswd, PASSWD_MAX_BYTES } from "../../src/image/passwd.js";
import { sandboxSpec, type SandboxProfile } from "../../src/plan/sandbox-profile.js";
import { plainName } from "../../src/sandbox/archive-tree.js";
import { agentContainer, resourceNames } from "../../src/sandbox/containers.js";
import { securityLines, securityProfile } from "../../src/sandbox/profile.js";
import { DEFAULT_HARDENING } from "../../src/sandbox/hardening.js";
import { DEFAULT_LIMITS } from "../../src/sandbox/spec.js";

const base: SandboxProfile = {
  images: { sandbox: "ocbox-sandbox:x", egress: "ocbox-egress:y" },
  opencodeConfig: {},
  forwardPorts: [],
  env: { FROM_RULES: "1" },
  limits: DEFAULT_LIMITS,
  readyTimeoutMs: 60000,
  cacheVolumes: { paths: ["node_modules"] },
  aptAllow: ["jq"],
};
const facts: TaskImageFacts = {
  image: "ocbox-task:abc",
  imageUser: "",
  imageWorkdir: "/app",
  lib64FromPayload: false,
  payloadVolume: "ocbox-payload-1",
  bash: true,
  cpus: 1.5,
  memoryMb: 1024,
  env: { TASK_ENV: "t" },
};
const place = (p: SandboxProfile) =>
  sandboxSpec(p, {
    workspace: "/tmp/empty",
    sandboxId: "s",
    runId: "r",
    hostUser: { uid: 0, gid: 0 },
    agentUser: { uid: 64000, gid: 64000 },
  });

describe("the task-image variant of a profile", () => {
  it("a task with no [agent].user on a root image runs as root with the named capabilities, warned", () => {
    const p = taskImageProfile(base, facts);
    expect(p.taskImage).toMatchObject({
      user: "0:0",
      root: true,
      workdir: "/app",
      capAdd: [...ROOT_TASK_CAPS],
    });
    expect(p.limits).toMatchObject({ nanoCpus: 1.5e9, memoryBytes: 1024 ** 3 });
    expect(p.cacheVolumes).toBeUndefined();
    expect(p.aptAllow).toBeUndefined();
    const lines = securityLines(securityProfile(place(p)));
    expect(lines.join("\n")).toMatch(/WARNING {3}task\.root: the task runs as root/);
    expect(lines.join("\n")).toMatch(/user 0:0, capabilities CHOWN, DAC_OVERRIDE/);
  });

  it("a non-root task runs as its uid with no capabilities, and the sidecar with it; workdir from task.toml", () => {
    const p = taskImageProfile(base, {
      ...facts,
      agentUser: "builder",
      passwd: parsePasswd("root:x:0:0::/root:/bin/sh\nbuilder:x:1001:1002::/home/b:/bin/sh\n"),
      workdir: "/src",
    });
    expect(p.taskImage).toMatchObject({ user: "1001:1002", root: false, capAdd: [], workdir: "/src" });
    const spec = place(p);
    expect(spec.agentUser).toEqual({ uid: 1001, gid: 1002 });
    expect(securityProfile(spec).unsafe).not.toContain("task.root");
    expect(resolveTaskUser("1234", undefined)).toBe("1234:1234");
    expect(() => resolveTaskUser("nobody-here", parsePasswd("root:x:0:0::/:/bin/sh\n"))).toThrow(
      TaskUserError,
    );
    // A name that is uid 0 in the image is root.
    expect(
      taskImageProfile(base, {
        ...facts,
        agentUser: "admin",
        passwd: parsePasswd("admin:x:0:0::/:/bin/sh\n"),
      }).taskImage?.root,
    ).toBe(true);
  });

  it("the agent container: the task's image, the payload read-only, no host path, no network", () => {
    const spec = place(taskImageProfile(base, { ...facts, lib64FromPayload: true }));
    const c = agentContainer(spec, resourceNames("s", "r"), { l: "1" });
    expect(c.image).toBe("ocbox-task:abc");
    expect(c.user).toBe("0:0");
    expect(c.workingDir).toBe("/app");
    expect(c.networkMode).toBe("none");
    expect(c.mounts.filter((m) => m.type === "bind")).toEqual([]);
    expect(c.mounts).toContainEqual({
      type: "volume",
      source: "ocbox-payload-1",
      target: "/ocbox",
      readOnly: true,
    });
    expect(c.mounts).toContainEqual({
      type: "volume",
      source: "ocbox-payload-1",
      target: "/lib64",
      readOnly: true,
    });
    expect(c.entrypoint?.[0]).toBe("/ocbox/lib/ld-linux-x86-64.so.2");
    expect(c.capDrop).toEqual(["ALL"]);
    expect(c.capAdd).toEqual([...ROOT_TASK_CAPS]);
    expect(c.securityOpt).toContain("no-new-privileges:true");
    expect(c.securityOpt.some((o) => o.startsWith("seccomp="))).toBe(true);
    expect(c.readOnlyRoot).toBe(false);
    expect(c.env).toMatchObject({
      TASK_ENV: "t",
      FROM_RULES: "1",
      OCBOX_OPENCODE_LIBS: "/lib64",
      HOME: "/root",
    });
    expect(c.healthcheck).toBeUndefined();
  });
});

it("the tree copy takes plain relative names only", () => {
  expect(plainName("agent/")).toBe("");
  expect(plainName("agent/a/b.txt")).toBe("a/b.txt");
  expect(plainName("agent/../../etc/passwd")).toBeUndefined();
  expect(plainName("./agent/./x")).toBe("x");
});

it("the payload volume is named by what goes into it; the oracle's model is never reachable", () => {
  expect(payloadVolumeName("ocbox-sandbox:a")).toMatch(/^ocbox-payload-[0-9a-f]{16}$/);
  expect(payloadVolumeName("ocbox-sandbox:a")).not.toBe(payloadVolumeName("ocbox-sandbox:b"));
  const c = withOracleModel({ provider: { other: {} } });
  expect(Object.keys(c.provider as object)).toEqual(["other", "oracle"]);
  expect(ORACLE_MODEL).toBe("oracle/solve-sh");
});

describe("an image's /etc/passwd, parsed as hostile input", () => {
  it("keeps well-formed lines only, the first entry of a name, ids in range", () => {
    const text = [
      "root:x:0:0:root:/root:/bin/bash",
      "builder:x:1001:1002:B:/home/b:/bin/sh\r",
      "builder:x:5:5::/:/bin/sh", // a second entry of a name: getpwnam takes the first
      "short:x:7:7", // too few fields
      "extra:x:8:8:::/bin/sh:more", // too many
      "bad name:x:9:9::/:/bin/sh",
      "-dash:x:9:9::/:/bin/sh",
      "neg:x:-1:0::/:/bin/sh",
      "hex:x:0x10:0::/:/bin/sh",
      "huge:x:4294967295:0::/:/bin/sh", // (uid_t)-1
      "toolong" + "a".repeat(40) + ":x:3:3::/:/bin/sh",
      "+nis::::::",
      "",
      "svc$:x:1500:1500::/:/sbin/nologin",
    ].join("\n");
    expect(parsePasswd(text)).toEqual([
      { name: "root", uid: 0, gid: 0 },
      { name: "builder", uid: 1001, gid: 1002 },
      { name: "svc$", uid: 1500, gid: 1500 },
    ]);
  });

  it("looks at no more than its byte and line caps", () => {
    const filler = "x".repeat(PASSWD_MAX_BYTES);
    expect(parsePasswd(`${filler}\nlate:x:5:5::/:/bin/sh\n`)).toEqual([]);
    const many = Array.from({ length: 5000 }, (_, i) => `u${i}:x:${i + 2000}:1::/:/bin/sh`).join("\n");
    const got = parsePasswd(many);
    expect(got.length).toBeLessThanOrEqual(4096);
    expect(got.find((e) => e.name === "u4999")).toBeUndefined();
  });

  it("a name resolves through it; an unknown name names what the image has; uid:gid and uid pass through", () => {
    const pw = parsePasswd("root:x:0:0::/:/bin/sh\nbuilder:x:1001:1002::/:/bin/sh\n");
    expect(resolveTaskUser("builder", pw)).toBe("1001:1002");
    expect(resolveTaskUser("builder:50", pw)).toBe("1001:50");
    expect(resolveTaskUser("1234:99", undefined)).toBe("1234:99");
    expect(() => resolveTaskUser("ghost", pw)).toThrow(
      /"ghost" is not in the image's \/etc\/passwd \(it has root, builder\)/,
    );
    expect(() => resolveTaskUser("ghost", undefined)).toThrow(/has no \/etc\/passwd/);
  });
});

describe("the runtime of a root task", () => {
  it("auto: gVisor where registered (runsc first), else the engine's default with the named caps", () => {
    expect(rootTaskRuntime(undefined, ["gvisor", "runsc"])).toBe("runsc");
    expect(rootTaskRuntime(undefined, ["gvisor"])).toBe("gvisor");
    expect(rootTaskRuntime(undefined, [])).toBeUndefined();
    expect(rootTaskRuntime({ ...DEFAULT_HARDENING, rootTaskRuntime: "runc" }, ["runsc"])).toBeUndefined();
    expect(rootTaskRuntime({ ...DEFAULT_HARDENING, rootTaskRuntime: "kata" }, [])).toBe("kata");
    // hardening.runtime is every sandbox's, root or not.
    expect(rootTaskRuntime({ ...DEFAULT_HARDENING, runtime: "runsc", rootTaskRuntime: "runc" }, [])).toBe(
      "runsc",
    );
  });

  it("a root task under gVisor keeps its caps (in gVisor's kernel) and says the runtime; a non-root task stays on runc", () => {
    const root = taskImageProfile(base, { ...facts, gvisorRuntimes: ["runsc"] });
    expect(root.hardening?.runtime).toBe("runsc");
    expect(root.taskImage?.capAdd).toEqual([...ROOT_TASK_CAPS]);
    const lines = securityLines(securityProfile(place(root))).join("\n");
    expect(lines).toMatch(/runtime {3}runsc \(gVisor\)/);
    expect(lines).toMatch(/WARNING {3}task\.root: the task runs as root \(uid 0\) under gVisor \(runsc\)/);
    const plain = taskImageProfile(base, {
      ...facts,
      agentUser: 1000,
      gvisorRuntimes: ["runsc"],
    });
    expect(plain.hardening?.runtime).toBeUndefined();
    const runc = taskImageProfile(
      { ...base, hardening: { ...DEFAULT_HARDENING, rootTaskRuntime: "runc" } },
      { ...facts, gvisorRuntimes: ["runsc"] },
    );
    expect(runc.hardening?.runtime).toBeUndefined();
    expect(runc.hardening).not.toHaveProperty("rootTaskRuntime");
  });
});
