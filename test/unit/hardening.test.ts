/**
 * Issue 4: every hardening item of the agent container is a switch in ocbox.yaml (`hardening`),
 * hardened by default; each weakening reaches the container spec for `ocbox up` and the executor,
 * is part of the warm pool's profile key, and shows as a WARNING in the startup summary.
 */
import { describe, expect, it } from "vitest";
import { capabilityBit, capabilityProblem } from "../../src/config/capabilities.js";
import { parseProjectConfig } from "../../src/config/parse.js";

import { profileKey, specFor } from "../../src/executor/task-sandbox-spec.js";
import { projectSpec } from "../../src/project/spec.js";
import { stateLayout } from "../../src/util/state-layout.js";
import { startupSummary } from "../../src/project/summary.js";
import { agentContainer, egressContainer, resourceNames } from "../../src/sandbox/containers.js";
import {
  DEFAULT_HARDENING,
  hardeningFromConfig,
  hardeningOptions,
  hardeningWeakenings,
  type Hardening,
} from "../../src/sandbox/hardening.js";
import { securityLines, securityProfile } from "../../src/sandbox/profile.js";
import type { SandboxSpec } from "../../src/sandbox/spec.js";
import { configErrorOf, TEST_PROFILE, testSpec } from "../helpers/fixtures.js";

const errorOf = configErrorOf;

const WEAK = [
  "hardening:",
  "  readOnlyRoot: false",
  "  noNewPrivileges: false",
  "  seccomp: engine-default",
  "  capAdd: [NET_BIND_SERVICE, SYS_PTRACE]",
  "  icmp: true",
  "",
].join("\n");

const spec = (hardening?: Hardening) => testSpec(hardening ? { hardening } : {});

describe("ocbox.yaml hardening", () => {
  it("is fully hardened when absent or empty", () => {
    for (const text of ["", "hardening:\n", "hardening: {}\n"]) {
      expect(hardeningFromConfig(parseProjectConfig(text, "ocbox.yaml").hardening)).toEqual(
        DEFAULT_HARDENING,
      );
    }
    expect(DEFAULT_HARDENING).toEqual({
      readOnlyRoot: true,
      noNewPrivileges: true,
      seccomp: "ocbox",
      capAdd: [],
      icmp: false,
    });
  });

  it("reads every switch", () => {
    expect(parseProjectConfig(WEAK, "ocbox.yaml").hardening).toEqual({
      readOnlyRoot: false,
      noNewPrivileges: false,
      seccomp: "engine-default",
      capAdd: ["NET_BIND_SERVICE", "SYS_PTRACE"],
      icmp: true,
    });
    expect(parseProjectConfig("hardening: { seccomp: unconfined }\n", "f").hardening.seccomp).toBe(
      "unconfined",
    );
  });

  it("refuses unknown capabilities, ALL, CAP_ spellings, duplicates and modes, with file:line and a fix", () => {
    const typo = errorOf("hardening:\n  capAdd: [NET_BIND_SERVIC]\n");
    expect(typo.code).toBe("CONFIG");
    expect(typo.message).toMatch(/ocbox\.yaml:2:\d+: .*"NET_BIND_SERVIC" is not a Linux capability/);
    expect(typo.message).toMatch(/fix: did you mean NET_BIND_SERVICE\?/);
    expect(errorOf("hardening:\n  capAdd: [ALL]\n").message).toMatch(/ALL would add back every capability/);
    expect(errorOf("hardening:\n  capAdd: [cap_net_raw]\n").message).toMatch(/fix: write NET_RAW/);
    expect(errorOf("hardening:\n  capAdd: [NET_RAW, NET_RAW]\n").message).toMatch(/NET_RAW is listed twice/);
    expect(errorOf("hardening:\n  seccomp: off\n").message).toMatch(/hardening\.seccomp/);
    expect(errorOf("hardening:\n  readonlyRoot: false\n").message).toMatch(/readOnlyRoot/);
    expect(capabilityProblem("SYS_ADMIN")).toBeUndefined();
    expect(capabilityBit("NET_BIND_SERVICE")).toBe(10);
  });
});

describe("hardening → containers", () => {
  const names = resourceNames("app-1", "r1");
  it("the default: read-only root, no capabilities, no-new-privileges, the ocbox profile, no ping sockets", () => {
    const agent = agentContainer(spec(), names, {});
    expect(agent).toMatchObject({ readOnlyRoot: true, capDrop: ["ALL"], capAdd: [] });
    expect(agent.securityOpt[0]).toBe("no-new-privileges:true");
    expect(agent.securityOpt[1]).toMatch(/^seccomp=\{/);
    expect(agent.sysctls).toEqual({ "net.ipv4.ping_group_range": "1 0" });
    expect(agentContainer(spec(DEFAULT_HARDENING), names, {})).toEqual(agent);
  });

  it("each switch changes exactly its item; the sidecar stays fully hardened", () => {
    const weak = hardeningFromConfig(parseProjectConfig(WEAK, "f").hardening);
    const agent = agentContainer(spec(weak), names, {});
    expect(agent).toMatchObject({
      readOnlyRoot: false,
      capDrop: ["ALL"],
      capAdd: ["NET_BIND_SERVICE", "SYS_PTRACE"],
      securityOpt: [],
    });
    expect(agent.sysctls).toBeUndefined();
    expect(hardeningOptions({ ...DEFAULT_HARDENING, seccomp: "unconfined" }).securityOpt).toEqual([
      "no-new-privileges:true",
      "seccomp=unconfined",
    ]);
    const sidecar = egressContainer(spec(weak), names, 1234, {});
    expect(sidecar).toMatchObject({ readOnlyRoot: true, capDrop: ["ALL"], capAdd: [] });
    expect(sidecar.securityOpt[0]).toBe("no-new-privileges:true");
    expect(sidecar.securityOpt[1]).toMatch(/^seccomp=\{/);
  });
});

describe("hardening in the startup summary", () => {
  const summary = (s: SandboxSpec) =>
    startupSummary({
      sandboxId: "app-1",
      project: "/p",
      url: "http://127.0.0.1:1",
      env: { passed: [], skipped: [] },
      forwardPorts: [],
      stateDir: "/st",
      readyS: 1,
      detached: true,
      hookRan: false,
      security: securityProfile(s),
    }).join("\n");

  it("the default shows the full profile and no warning", () => {
    const text = summary(spec());
    expect(text).toMatch(
      /hardening user 1000:1000, no capabilities, no-new-privileges, read-only root, seccomp ocbox \(\d+ calls blocked\), no ping sockets/,
    );
    expect(text).not.toMatch(/WARNING/);
    expect(securityProfile(spec()).unsafe).toEqual([]);
  });

  it("every weakening is in `unsafe` (the --json summary) and prints a WARNING line", () => {
    const weak = hardeningFromConfig(parseProjectConfig(WEAK, "f").hardening);
    const profile = securityProfile({ ...spec(weak), hostDockerSocket: true });
    expect(profile.unsafe).toEqual([
      "unsafe.hostDockerSocket",
      "hardening.readOnlyRoot",
      "hardening.noNewPrivileges",
      "hardening.seccomp",
      "hardening.capAdd",
      "hardening.icmp",
    ]);
    expect(profile).toMatchObject({
      seccomp: { profile: "engine-default" },
      capabilities: ["NET_BIND_SERVICE", "SYS_PTRACE"],
      noNewPrivileges: false,
      readOnlyRoot: false,
      icmp: true,
    });
    // What `ocbox up --json` prints is this object: it survives JSON.
    expect(JSON.parse(JSON.stringify(profile))).toEqual(profile);
    const lines = securityLines(profile);
    const warnings = lines.filter((l) => l.includes("WARNING"));
    expect(warnings).toHaveLength(6);
    expect(lines.join("\n")).toMatch(
      /hardening user 1000:1000, capabilities NET_BIND_SERVICE, SYS_PTRACE \(bounding set only\), new privileges allowed, writable root, seccomp engine-default, ping sockets allowed/,
    );
    expect(warnings.join("\n")).toMatch(/WARNING\s+hardening\.seccomp: the engine's default seccomp profile/);
    expect(warnings.join("\n")).toMatch(
      /WARNING\s+hardening\.capAdd: capabilities added back: NET_BIND_SERVICE, SYS_PTRACE/,
    );
    expect(warnings.join("\n")).toMatch(/WARNING\s+hardening\.noNewPrivileges: /);
    expect(
      securityLines(securityProfile(spec({ ...DEFAULT_HARDENING, seccomp: "unconfined" }))).filter((l) =>
        l.includes("WARNING"),
      ),
    ).toEqual([
      "  WARNING   hardening.seccomp: no seccomp filter: every system call the kernel has is open to the agent",
    ]);
  });
});

describe("hardening from config to sandbox, for ocbox up and the executor", () => {
  it("ocbox up: projectSpec carries it", () => {
    const config = parseProjectConfig(WEAK, "ocbox.yaml");
    const { spec: s } = projectSpec({
      project: { root: "/p", file: "/p/ocbox.yaml", config, name: "myapp", sandboxId: "app-1" },
      hostEnv: {},
      images: { sandbox: "s", egress: "e" },
      state: stateLayout("app-1", { XDG_STATE_HOME: "/st" }),
      password: "pw",
      agentUser: { uid: 1000, gid: 1000 },
      hostUser: { uid: 1000, gid: 1000 },
      runId: "r1",
      lifetime: "session",
      authFile: "/a.json",
    });
    expect(s.hardening).toEqual(hardeningFromConfig(config.hardening));
    expect(agentContainer(s, resourceNames("app-1", "r1"), {}).readOnlyRoot).toBe(false);
  });

  it("executor: the warm pool's key tells hardenings apart; absent is the default", () => {
    const base = TEST_PROFILE;
    const weak = { ...base, hardening: { ...DEFAULT_HARDENING, seccomp: "engine-default" as const } };
    expect(profileKey({ ...base, hardening: hardeningFromConfig({}) })).toBe(profileKey(base));
    expect(profileKey(weak)).not.toBe(profileKey(base));
    expect(profileKey({ ...base, hardening: { ...DEFAULT_HARDENING, capAdd: ["NET_RAW"] } })).not.toBe(
      profileKey(base),
    );
    expect(specFor(weak, "/w", "t").hardening).toEqual(weak.hardening);
    expect(hardeningWeakenings(weak.hardening).map((w) => w.key)).toEqual(["hardening.seccomp"]);
  });
});
