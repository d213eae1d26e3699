/**
 * FEATURES C9: run-time package installs without root. The config key (`apt.allow`), the helper
 * container's spec, the agent's PATH and read-only prefix, the summary line, the warm pool's key,
 * and the helper script's request checks (run with the host's bash: a refusal never reaches apt).
 */
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { aptPackageProblem } from "../../src/config/apt-schema.js";
import { parseProjectConfig } from "../../src/config/parse.js";

import { profileKey, specFor } from "../../src/executor/task-sandbox-spec.js";
import { APT_EXIT_MARK, APT_PREFIX, aptHelperScript } from "../../src/image/apt-scripts.js";
import { projectSpec } from "../../src/project/spec.js";
import { stateLayout } from "../../src/util/state-layout.js";
import {
  APT_HELPER_CA,
  IMAGE_PATH,
  aptAgentEnv,
  aptHelperContainer,
  aptNames,
  aptPrefixVolumeOptions,
} from "../../src/sandbox/apt-helper.js";
import { agentContainer, resourceNames } from "../../src/sandbox/containers.js";
import { securityLines, securityProfile } from "../../src/sandbox/profile.js";
import { configErrorOf, TEST_PROFILE, testSpec } from "../helpers/fixtures.js";

const errorOf = configErrorOf;

const spec = (aptAllow?: string[]) =>
  testSpec({
    images: { sandbox: "ocbox-sandbox:t", egress: "ocbox-egress:t" },
    ...(aptAllow ? { aptAllow } : {}),
  });

describe("apt.allow in ocbox.yaml", () => {
  it("is off (empty) by default and reads package names", () => {
    expect(parseProjectConfig("", "ocbox.yaml").apt).toEqual({ allow: [] });
    expect(parseProjectConfig("apt:\n  allow: [jq, sqlite3, g++, libc6-dev]\n", "f").apt.allow).toEqual([
      "jq",
      "sqlite3",
      "g++",
      "libc6-dev",
    ]);
  });

  it("refuses versions, releases, options and non-names with file:line and a fix", () => {
    const pinned = errorOf("apt:\n  allow:\n    - jq\n    - curl=7.88.1\n");
    expect(pinned.code).toBe("CONFIG");
    expect(pinned.message).toMatch(/ocbox\.yaml:4:\d+: .*"curl=7\.88\.1" pins a version/);
    expect(pinned.message).toMatch(/fix: write the name only: curl/);
    expect(errorOf("apt:\n  allow: [curl/sid]\n").message).toMatch(/pins a release/);
    expect(errorOf("apt:\n  allow: [--allow-unauthenticated]\n").message).toMatch(/is an option/);
    expect(errorOf("apt:\n  allow: [JQ]\n").message).toMatch(/lower case: "jq"/);
    expect(errorOf("apt:\n  allow: [jq ripgrep]\n").message).toMatch(/more than one word/);
    expect(errorOf("apt:\n  allow: jq\n").message).toMatch(/apt\.allow/);
    expect(errorOf("apt:\n  packages: [jq]\n").message).toMatch(/packages/);
    for (const ok of ["jq", "g++", "libstdc++6", "python3.11", "0ad"])
      expect(aptPackageProblem(ok)).toBeUndefined();
    for (const bad of ["j", "-jq", "jq;id", "$(id)", "*", "jq*", "a".repeat(101)])
      expect(aptPackageProblem(bad)).toBeDefined();
  });
});

describe("the apt helper container and the agent's side", () => {
  it("the helper: the sandbox image as the agent's uid, no capabilities, no-new-privileges, read-only root", () => {
    const helper = aptHelperContainer(spec(["jq", "jq", "sqlite3"]), { l: "1" });
    expect(helper).toMatchObject({
      name: "ocbox-app-1-r1-apt",
      image: "ocbox-sandbox:t",
      user: "1000:1000",
      readOnlyRoot: true,
      capDrop: ["ALL"],
      capAdd: [],
      networkMode: "bridge",
      entrypoint: ["/usr/bin/tini", "-g", "--", "/usr/local/bin/ocbox-apt-helper"],
      env: { OCBOX_APT_ALLOW: "jq sqlite3" },
      labels: { l: "1" },
    });
    expect(helper.securityOpt).toContain("no-new-privileges:true");
    expect(helper.securityOpt.some((o) => o.startsWith("seccomp="))).toBe(true);
    // Only its package volume (its socket is there too): nothing shared with the sidecar.
    expect(helper.mounts).toEqual([
      { type: "volume", source: "ocbox-app-1-r1-apt-pkgs", target: APT_PREFIX },
    ]);
    expect(helper.tmpfs["/tmp"]).toMatch(/noexec/);
    // The agent's hardening switches never loosen the helper.
    const weak = aptHelperContainer(
      {
        ...spec(["jq"]),
        hardening: {
          readOnlyRoot: false,
          noNewPrivileges: false,
          seccomp: "unconfined",
          capAdd: ["NET_RAW"],
          icmp: true,
        },
      },
      {},
    );
    expect(weak).toMatchObject({ readOnlyRoot: true, capAdd: [] });
    expect(weak.securityOpt).toContain("no-new-privileges:true");
  });

  it("passes the host's CA bundle read-only when there is one", () => {
    const helper = aptHelperContainer(spec(["jq"]), {}, "/etc/ssl/certs/ca-certificates.crt");
    expect(helper.env.OCBOX_APT_CA).toBe(APT_HELPER_CA);
    expect(helper.mounts).toContainEqual({
      type: "bind",
      source: "/etc/ssl/certs/ca-certificates.crt",
      target: APT_HELPER_CA,
      readOnly: true,
    });
  });

  it("the prefix volume is a tmpfs of the agent's uid, without setuid or devices", () => {
    expect(aptPrefixVolumeOptions(spec(["jq"]))).toEqual({
      type: "tmpfs",
      device: "tmpfs",
      o: "size=1g,mode=0755,uid=1000,gid=1000,nosuid,nodev",
    });
    expect(aptNames(spec()).prefixVolume).toBe(
      `${resourceNames("app-1", "r1").agent.replace(/-agent$/, "")}-apt-pkgs`,
    );
  });

  it("the agent mounts the prefix read-only and has its dirs on PATH after the image's; nothing when off", () => {
    const names = resourceNames("app-1", "r1");
    const on = agentContainer(spec(["jq"]), names, {});
    expect(on.mounts).toContainEqual({
      type: "volume",
      source: "ocbox-app-1-r1-apt-pkgs",
      target: APT_PREFIX,
      readOnly: true,
    });
    expect(on.env.PATH?.startsWith(`${IMAGE_PATH}:${APT_PREFIX}/usr/local/bin:${APT_PREFIX}/usr/bin`)).toBe(
      true,
    );
    expect(aptAgentEnv(spec(["jq"]), "x64").LD_LIBRARY_PATH).toBe(
      `${APT_PREFIX}/usr/lib/x86_64-linux-gnu:${APT_PREFIX}/lib/x86_64-linux-gnu:${APT_PREFIX}/usr/lib:${APT_PREFIX}/lib`,
    );
    expect(aptAgentEnv(spec(["jq"]), "arm64").LD_LIBRARY_PATH).toMatch(/aarch64-linux-gnu/);
    for (const off of [spec(), spec([])]) {
      const agent = agentContainer(off, names, {});
      expect(agent.env.PATH).toBeUndefined();
      expect(agent.env.LD_LIBRARY_PATH).toBeUndefined();
      expect(agent.mounts.some((m) => m.target === APT_PREFIX)).toBe(false);
    }
  });

  it("the summary names the packages as a notice, not a WARNING", () => {
    const profile = securityProfile(spec(["jq", "sqlite3"]));
    expect(profile.apt).toEqual(["jq", "sqlite3"]);
    expect(profile.unsafe).toEqual([]);
    const lines = securityLines(profile);
    expect(lines.join("\n")).toMatch(/^ {2}apt {7}ocbox-apt may install jq, sqlite3 \(/m);
    expect(lines.some((l) => l.includes("WARNING"))).toBe(false);
    expect(securityProfile(spec()).apt).toBeUndefined();
    expect(securityLines(securityProfile(spec())).some((l) => /^ {2}apt /.test(l))).toBe(false);
  });
});

describe("apt.allow reaches ocbox up and the executor", () => {
  it("ocbox up: projectSpec carries the list", () => {
    const config = parseProjectConfig("apt:\n  allow: [jq]\n", "ocbox.yaml");
    const input = {
      project: { root: "/p", file: "/p/ocbox.yaml", config, name: "myapp", sandboxId: "app-1" },
      hostEnv: {},
      images: { sandbox: "s", egress: "e" },
      state: stateLayout("app-1", { XDG_STATE_HOME: "/st" }),
      password: "pw",
      agentUser: { uid: 1000, gid: 1000 },
      hostUser: { uid: 1000, gid: 1000 },
      runId: "r1",
      lifetime: "session" as const,
      authFile: "/a.json",
    };
    expect(projectSpec(input).spec.aptAllow).toEqual(["jq"]);
    const off = { ...input, project: { ...input.project, config: parseProjectConfig("", "f") } };
    expect(projectSpec(off).spec.aptAllow).toBeUndefined();
  });

  it("executor: the warm pool's key tells allowlists apart; absent and empty are the same", () => {
    const base = TEST_PROFILE;
    expect(profileKey({ ...base, aptAllow: [] })).toBe(profileKey(base));
    expect(profileKey({ ...base, aptAllow: ["jq"] })).not.toBe(profileKey(base));
    expect(profileKey({ ...base, aptAllow: ["jq"] })).not.toBe(
      profileKey({ ...base, aptAllow: ["sqlite3"] }),
    );
    expect(specFor({ ...base, aptAllow: ["jq"] }, "/w", "t").aptAllow).toEqual(["jq"]);
    expect(specFor(base, "/w", "t").aptAllow).toBeUndefined();
  });
});

describe("the helper script's request checks", () => {
  /** One request through the helper's handler, as a socket connection would deliver it. */
  const ask = (request: string, allow = "jq sqlite3") => {
    const r = spawnSync("bash", ["-c", aptHelperScript, "ocbox-apt-helper", "--handle"], {
      input: request,
      env: { PATH: process.env.PATH, OCBOX_APT_ALLOW: allow },
      encoding: "utf8",
      timeout: 20_000,
    });
    const lines = r.stdout.trimEnd().split("\n");
    const last = lines.pop() ?? "";
    expect(last).toMatch(new RegExp(`^${APT_EXIT_MARK} \\d+$`));
    return { code: Number(last.split(" ")[1]), text: lines.join("\n") };
  };

  it("refuses names off the list, options, versions and shell text, naming apt.allow; apt never runs", () => {
    const r = ask("install jq curl-evil --allow-unauthenticated jq=1.6 jq/sid $(id) `id` ;id *\n");
    expect(r.code).toBe(3);
    expect(r.text).toMatch(/refused "curl-evil": not on this sandbox's list \(apt\.allow in ocbox\.yaml\)/);
    expect(r.text).toMatch(/refused "--allow-unauthenticated": options are not accepted/);
    expect(r.text).toMatch(/refused "jq=1\.6": versions and releases are not accepted/);
    expect(r.text).toMatch(/refused "jq\/sid": versions/);
    for (const word of ["$(id)", "`id`", ";id", "*"]) expect(r.text).toContain(`refused "${word}"`);
    expect(r.text).toMatch(/^allowed: jq sqlite3$/m);
    expect(r.text).toMatch(/^fix: add the package to apt\.allow in ocbox\.yaml/m);
    expect(r.text).not.toMatch(/Reading package lists|uid=/);
  });

  it("answers bad requests with usage and an empty list with nothing allowed", () => {
    expect(ask("remove jq\n").code).toBe(2);
    expect(ask("install\n").code).toBe(2);
    expect(ask("").code).toBe(2);
    const none = ask("install jq\n", "");
    expect(none.code).toBe(3);
    expect(none.text).toMatch(/allowed: \(none\)/);
    const list = ask("list\n");
    expect(list.code).toBe(0);
    expect(list.text).toMatch(/allowed \(apt\.allow\): jq sqlite3/);
  });
});
