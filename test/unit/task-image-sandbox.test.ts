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
  ROOT_TASK_CAPS,
  taskImageProfile,
  TaskUserError,
  type TaskImageFacts,
} from "../../src/plan/task-image-plan.js";
import { sandboxSpec, type SandboxProfile } from "../../src/plan/sandbox-profile.js";
import { plainName } from "../../src/sandbox/archive-tree.js";
import { agentContainer, resourceNames } from "../../src/sandbox/containers.js";
import { securityLines, securityProfile } from "../../src/sandbox/profile.js";
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
      passwd: "root:x:0:0::/root:/bin/sh\nbuilder:x:1001:1002::/home/b:/bin/sh\n",
      workdir: "/src",
    });
    expect(p.taskImage).toMatchObject({ user: "1001:1002", root: false, capAdd: [], workdir: "/src" });
    const spec = place(p);
    expect(spec.agentUser).toEqual({ uid: 1001, gid: 1002 });
    expect(securityProfile(spec).unsafe).not.toContain("task.root");
    expect(resolveTaskUser("1234", undefined)).toBe("1234:1234");
    expect(() => resolveTaskUser("nobody-here", "root:x:0:0::/:/bin/sh\n")).toThrow(TaskUserError);
    // A name that is uid 0 in the image is root.
    expect(
      taskImageProfile(base, { ...facts, agentUser: "admin", passwd: "admin:x:0:0::/:/bin/sh\n" }).taskImage
        ?.root,
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
