import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { gvisorProfile } from "../../src/image/gvisor-seccomp.js";
import { allowedSyscalls, seccompAssetPath, type SeccompProfile } from "../../src/image/seccomp.js";
import {
  daemonJsonEntry,
  flagValues,
  missingFlags,
  runtimeProblem,
} from "../../src/runtime/runtime-check.js";
import {
  DEFAULT_HARDENING,
  hardeningFromConfig,
  hardeningOptions,
  hardeningWeakenings,
} from "../../src/sandbox/hardening.js";
import { configWeakening } from "../../src/plan/weakening.js";
import { projectConfigSchema as projectSchema } from "../../src/config/project-schema.js";
import { GVISOR_BIN } from "../../src/image/dockerfile.js";
import { ulimitsFor } from "../../src/runtime/engine-capabilities.js";
import { IMAGE_PATH } from "../../src/sandbox/apt-helper.js";
import {
  GVISOR_HOST_TASKS,
  gvisorHostTasks,
  agentContainer,
  egressContainer,
  resourceNames,
  withRuntimePath,
} from "../../src/sandbox/containers.js";
import { securityLines, securityProfile } from "../../src/sandbox/profile.js";
import { DEFAULT_LIMITS } from "../../src/sandbox/spec.js";
import { testSpec } from "../helpers/fixtures.js";

const ocbox = JSON.parse(readFileSync(seccompAssetPath("ocbox.json"), "utf8")) as SeccompProfile;
const GOOD = { path: "/usr/bin/runsc", runtimeArgs: ["--network=none", "--host-uds=all", "--oci-seccomp"] };
// What Docker 20.10's /info says on this machine, runsc registered beside runc.
const INFO = {
  "io.containerd.runc.v2": { path: "runc", runtimeArgs: [] },
  runc: { path: "runc", runtimeArgs: [] },
  runsc: GOOD,
};

describe("gVisor's reading of the seccomp profile", () => {
  const g = gvisorProfile(ocbox);
  it("allows and blocks the same calls, plus gVisor's own name for pselect6", () => {
    const before = allowedSyscalls(ocbox);
    const after = allowedSyscalls(g);
    expect([...after].filter((n) => !before.has(n))).toEqual(["pselect"]);
    for (const n of before) expect(after.has(n)).toBe(true);
    expect(after.has("ptrace")).toBe(false);
    expect(g.defaultAction).toBe(ocbox.defaultAction);
  });
  it("turns the ENOSYS rule for clone3 into SCMP_ACT_TRACE (ENOSYS with no tracer; gVisor ignores errnoRet)", () => {
    const clone3 = g.syscalls.find((r) => r.names.length === 1 && r.names[0] === "clone3");
    expect(clone3).toEqual({
      names: ["clone3"],
      action: "SCMP_ACT_TRACE",
      excludes: { caps: ["CAP_SYS_ADMIN"] },
    });
    expect(g.syscalls.some((r) => r.action === "SCMP_ACT_ERRNO" && r.errnoRet === 38)).toBe(false);
  });
  it("changes nothing in the profile it is given", () => {
    const copy = structuredClone(ocbox);
    gvisorProfile(ocbox);
    expect(ocbox).toEqual(copy);
  });
});

describe("the runtime check on the engine's /info Runtimes", () => {
  it("accepts runsc registered with the three flags, in any spelling Go's flag package reads", () => {
    expect(runtimeProblem("runsc", INFO)).toBeUndefined();
    const spelled = {
      path: "/usr/local/bin/runsc",
      runtimeArgs: ["-network", "none", "-host-uds=all", "--oci-seccomp=true", "--platform=ptrace"],
    };
    expect(runtimeProblem("gvisor", { gvisor: spelled })).toBeUndefined();
    expect(flagValues(spelled.runtimeArgs).get("network")).toBe("none");
  });
  it("names a runtime that is not registered, what is, and the daemon.json entry and SIGHUP", () => {
    const e = runtimeProblem("gvisor", INFO);
    expect(e?.message).toBe("hardening.runtime: gvisor: the engine has no runtime named gvisor");
    expect(e?.detail).toContain("io.containerd.runc.v2, runc, runsc");
    expect(e?.fix).toContain(daemonJsonEntry("gvisor"));
    expect(e?.fix).toContain("kill -HUP $(pidof dockerd)");
    expect(JSON.parse(daemonJsonEntry("gvisor"))).toEqual({
      runtimes: {
        gvisor: {
          path: "/usr/bin/runsc",
          runtimeArgs: ["--network=none", "--host-uds=all", "--oci-seccomp"],
        },
      },
    });
  });
  it("names each missing or wrong flag and the entry with the registered path", () => {
    const bare = { path: "/usr/bin/runsc", runtimeArgs: ["--network=none", "--host-uds=open"] };
    expect(missingFlags(bare)).toEqual(["--host-uds=all", "--oci-seccomp"]);
    const e = runtimeProblem("runsc", { runsc: bare });
    expect(e?.message).toBe(
      "hardening.runtime: runsc: runsc is registered without --host-uds=all, --oci-seccomp",
    );
    expect(e?.fix).toContain(daemonJsonEntry("runsc", "/usr/bin/runsc"));
    expect(
      missingFlags({ path: "runsc", runtimeArgs: [...GOOD.runtimeArgs.slice(0, 2), "--oci-seccomp=false"] }),
    ).toEqual(["--oci-seccomp"]);
  });
  it("refuses a runtime that is not runsc (runc, crun) and an engine that lists none", () => {
    expect(runtimeProblem("runc", INFO)?.message).toBe(
      "hardening.runtime: runc: runc is runc, not gVisor's runsc",
    );
    expect(runtimeProblem("runsc", undefined)?.message).toContain("does not list its runtimes");
    expect(runtimeProblem("runsc", INFO)?.code).toBeUndefined();
    expect(runtimeProblem("runc", INFO)?.code).toBe("SANDBOX_START");
  });
});

describe("hardening.runtime in the config and the container options", () => {
  it("is carried into the hardening, the agent's runtime and gVisor's seccomp profile", () => {
    const h = hardeningFromConfig(projectSchema.parse({ hardening: { runtime: "runsc" } }).hardening);
    expect(h.runtime).toBe("runsc");
    const o = hardeningOptions(h);
    expect(o.runtime).toBe("runsc");
    expect(o.securityOpt.some((s) => s.startsWith("seccomp=") && s.includes('"pselect"'))).toBe(true);
    expect(hardeningOptions(hardeningFromConfig({})).runtime).toBeUndefined();
    expect(hardeningWeakenings(h)).toEqual([]);
  });
  it("is not a weakening (it only narrows), and a bad name is a config error", () => {
    expect(configWeakening(projectSchema.parse({ hardening: { runtime: "runsc" } }))).toEqual([]);
    expect(projectSchema.safeParse({ hardening: { runtime: "run sc" } }).success).toBe(false);
  });
});

describe("the agent container under gVisor", () => {
  const gvisor = testSpec({ hardening: { ...DEFAULT_HARDENING, runtime: "runsc" } });
  const names = resourceNames("app-1", "r1");
  it("runs under the runtime, its PID limit inside as RLIMIT_NPROC, the host's cgroup as a backstop", () => {
    const c = agentContainer(gvisor, names, {});
    expect(c.runtime).toBe("runsc");
    expect(c.limits.nproc).toBe(DEFAULT_LIMITS.pids);
    expect(c.limits.pids).toBe(gvisorHostTasks(DEFAULT_LIMITS.pids));
    expect(ulimitsFor({ explicitUlimits: false }, 4096, c.limits.nproc)).toContainEqual({
      Name: "nproc",
      Soft: DEFAULT_LIMITS.pids,
      Hard: DEFAULT_LIMITS.pids,
    });
  });
  it("bounds the host-side backstop: 256 + 32 per process, never over 4096 (pid_max is shared)", () => {
    expect(gvisorHostTasks(64)).toBe(GVISOR_HOST_TASKS.base + GVISOR_HOST_TASKS.perProcess * 64);
    expect(gvisorHostTasks(DEFAULT_LIMITS.pids)).toBe(4096);
    expect(gvisorHostTasks(1_000_000)).toBe(GVISOR_HOST_TASKS.max);
    expect(
      agentContainer(testSpec({ ...gvisor, limits: { ...gvisor.limits, pids: 100_000 } }), names, {}).limits
        .pids,
    ).toBe(4096);
  });
  it("puts busybox's ls and stat first on PATH, before the apt prefix's dirs", () => {
    expect(agentContainer(gvisor, names, {}).env["PATH"]).toBe(`${GVISOR_BIN}:${IMAGE_PATH}`);
    expect(withRuntimePath(gvisor, { PATH: "/a:/b" })).toEqual({ PATH: `${GVISOR_BIN}:/a:/b` });
  });
  it("leaves runc's container as it was, and the sidecar on the default runtime", () => {
    const runc = agentContainer(testSpec(), names, {});
    expect(runc.runtime).toBeUndefined();
    expect(runc.env["PATH"]).toBeUndefined();
    expect(runc.limits).toEqual(DEFAULT_LIMITS);
    expect(egressContainer(gvisor, names, 1234, {}).runtime).toBeUndefined();
  });
  it("says which runtime is in force in the profile and the summary", () => {
    const p = securityProfile(gvisor);
    expect(p.runtime).toBe("runsc");
    expect(securityLines(p).find((l) => l.startsWith("  runtime"))).toContain("runsc (gVisor)");
    expect(securityProfile(testSpec()).runtime).toBe("default");
    expect(securityLines(securityProfile(testSpec())).find((l) => l.startsWith("  runtime"))).toContain(
      "the engine's default (runc)",
    );
  });
});
