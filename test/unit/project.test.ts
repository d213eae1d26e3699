import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { parseProjectConfig } from "../../src/config/parse.js";
import { addGitignoreEntries } from "../../src/project/gitignore.js";
import { hookDoesNothing, parseEnvZ } from "../../src/util/hook.js";
import { ocboxYamlTemplate } from "../../src/project/init-templates.js";
import { LoginCodes, cookieValue } from "../../src/project/login-codes.js";
import { formatUptime, sandboxRows } from "../../src/project/sandbox-list.js";
import { loopbackPort, projectSpec } from "../../src/project/spec.js";
import { logFileName, stateLayout } from "../../src/util/state-layout.js";
import { startupSummary } from "../../src/project/summary.js";
import { attachArgv } from "../../src/project/attach.js";
import { workspaceMountFor } from "../../src/config/workspace-mount.js";
import { OcboxError } from "../../src/errors.js";
import { webDirSegment, webSessionPath } from "../../src/opencode/web-route.js";
import {
  newSessionDeepLink,
  openProjectScript,
  withOpenScript,
} from "../../src/opencode/web-open-project.js";
import { agentContainer, resourceNames } from "../../src/sandbox/containers.js";

describe("state layout", () => {
  it("puts everything under $XDG_STATE_HOME/ocbox/sandboxes/<id>", () => {
    const s = stateLayout("app-1a2b3c4d", { XDG_STATE_HOME: "/st" });
    expect(s).toMatchObject({
      dir: "/st/ocbox/sandboxes/app-1a2b3c4d",
      password: "/st/ocbox/sandboxes/app-1a2b3c4d/password",
      dataDir: "/st/ocbox/sandboxes/app-1a2b3c4d/home-local/share/opencode",
      approved: "/st/ocbox/sandboxes/app-1a2b3c4d/approved.json",
    });
    expect(logFileName(new Date("2026-01-02T03:04:05.006Z"), "ab12")).toBe(
      "2026-01-02T03-04-05-006Z-ab12.log",
    );
  });
});

describe(".gitignore edit", () => {
  it("adds only what is missing, once, under a comment", () => {
    expect(addGitignoreEntries("", ["/.ocbox/pre-start.sh"])).toBe("# ocbox\n/.ocbox/pre-start.sh\n");
    expect(addGitignoreEntries("node_modules/", ["/.ocbox/pre-start.sh"])).toBe(
      "node_modules/\n\n# ocbox\n/.ocbox/pre-start.sh\n",
    );
    const text = "dist/\n.ocbox/pre-start.sh\n";
    expect(addGitignoreEntries(text, ["/.ocbox/pre-start.sh"])).toBe(text);
  });
});

describe("login codes", () => {
  it("a code works once and expires after 60 s; sessions are recognised", () => {
    let now = 0;
    const codes = new LoginCodes({ now: () => now });
    const a = codes.mint();
    const session = codes.redeem(a);
    expect(session).toBeTypeOf("string");
    expect(codes.isSession(session)).toBe(true);
    expect(codes.redeem(a)).toBeUndefined();
    const b = codes.mint();
    now = 60_000;
    expect(codes.redeem(b)).toBeUndefined();
    expect(codes.isSession("forged")).toBe(false);
    expect(codes.isSession(undefined)).toBe(false);
  });
  it("reads ocbox's cookie", () => {
    expect(cookieValue("a=1; ocbox_5=xyz; b=2", "ocbox_5")).toBe("xyz");
    expect(cookieValue("a=1", "ocbox_5")).toBeUndefined();
  });
});

describe("startup summary", () => {
  it("lists passed and skipped names, never values", () => {
    const lines = startupSummary({
      sandboxId: "app-1",
      project: "/p",
      url: "http://127.0.0.1:5000",
      env: {
        passed: ["OPENAI_API_KEY"],
        skipped: [{ name: "GH_TOKEN", code: "unset", reason: "host variable GH_TOKEN is not set" }],
      },
      forwardPorts: [8080],
      volumes: [{ path: "node_modules", volume: "ocbox-app-1-cache-node_modules" }],
      stateDir: "/s",
      readyS: 2.04,
      detached: true,
      hookRan: false,
    }).join("\n");
    expect(lines).toContain("volume    /workspace/node_modules on ocbox-app-1-cache-node_modules");
    expect(lines).toContain("env       OPENAI_API_KEY");
    expect(lines).toContain("skipped   GH_TOKEN: host variable GH_TOKEN is not set");
    expect(lines).toContain("`ocbox down` stops it");
  });
});

describe("sandbox rows", () => {
  it("one row per run with an agent, URL from the port label, state from health", () => {
    const labels = (role: string) => ({
      "dev.ocbox.sandbox": "app-1",
      "dev.ocbox.run": "r1",
      "dev.ocbox.role": role,
      "dev.ocbox.port": "5000",
      "dev.ocbox.workspace": "/p",
      "dev.ocbox.started-at": "2026-01-01T00:00:00.000Z",
      "dev.ocbox.lifetime": "detached",
    });
    const base = { image: "i", createdAt: new Date(0) };
    const rows = sandboxRows(
      [
        {
          ...base,
          id: "a",
          name: "x-agent",
          state: "running",
          status: "Up 2 minutes (healthy)",
          labels: labels("agent"),
        },
        { ...base, id: "e", name: "x-egress", state: "running", status: "Up", labels: labels("egress") },
      ],
      new Date("2026-01-01T00:02:05.000Z"),
    );
    expect(rows).toEqual([
      expect.objectContaining({
        sandboxId: "app-1",
        url: "http://127.0.0.1:5000",
        state: "running",
        uptimeS: 125,
        project: "/p",
        containerIds: ["a", "e"],
      }),
    ]);
    // Podman without systemd never runs a healthcheck (its timers are systemd's): the status stays
    // "(starting)" for good. ocbox never waits on it (the server's log line, its health route over
    // ocbox's own connection, the containers' running state), and `ls` shows such a sandbox as
    // running; Docker's "(health: starting)" still reads as starting.
    const one = (status: string) =>
      sandboxRows(
        [{ ...base, id: "a", name: "x-agent", state: "running", status, labels: labels("agent") }],
        new Date(),
      )[0]?.state;
    expect(one("Up 9 seconds ago (starting)")).toBe("running");
    expect(one("Up 3 seconds (health: starting)")).toBe("starting");
    expect(one("Up 2 minutes (unhealthy)")).toBe("unhealthy");
    expect(formatUptime(125)).toBe("2m 05s");
    expect(formatUptime(3 * 3600 + 60)).toBe("3h 01m");
  });
});

describe("project spec", () => {
  const text =
    ocboxYamlTemplate("myapp") + "model:\n  baseURL: http://localhost:8080\n  models:\n    fast: {}\n";
  const config = parseProjectConfig(text, "ocbox.yaml");
  const project = { root: "/p", file: "/p/ocbox.yaml", config, name: "myapp", sandboxId: "app-1" };
  const base = {
    project,
    images: { sandbox: "s", egress: "e" },
    state: stateLayout("app-1", { XDG_STATE_HOME: "/st" }),
    password: "pw",
    agentUser: { uid: 1000, gid: 1000 },
    hostUser: { uid: 1000, gid: 1000 },
    runId: "r1",
    lifetime: "detached" as const,
    authFile: "/home/u/.local/share/opencode/auth.json",
  };
  it("the init template is a valid config", () => {
    expect(config.name).toBe("myapp");
  });
  it("the init template's commented examples are valid too, once uncommented", () => {
    const example =
      /^# (apt:|  allow: \[jq\]|volumes:|hardening:|  (readOnlyRoot|noNewPrivileges|seccomp|capAdd|icmp):)/;
    const uncommented = ocboxYamlTemplate("myapp")
      .split("\n")
      .map((l) => (example.test(l) ? l.slice(2) : l))
      .join("\n");
    const parsed = parseProjectConfig(uncommented, "ocbox.yaml");
    expect(parsed.apt.allow).toEqual(["jq"]);
    expect(parsed.volumes).toEqual(["node_modules"]);
    expect(parsed.hardening).toMatchObject({
      readOnlyRoot: true,
      noNewPrivileges: true,
      seccomp: "ocbox",
      icmp: false,
    });
  });
  it("forwards loopback model ports, pins localhost to 127.0.0.1, mounts opencode.json read-only", () => {
    const { spec, env } = projectSpec({
      ...base,
      hostEnv: { OPENAI_API_KEY: "k", UNRELATED: "x" },
      opencodeJson: {
        file: "/p/opencode.json",
        config: { provider: { o: { options: { baseURL: "http://127.0.0.1:9000/v1" } } } },
      },
    });
    expect(spec.forwardPorts).toEqual([8080, 9000]);
    expect(JSON.stringify(spec.opencodeConfig)).toContain("http://127.0.0.1:8080/v1");
    // Read-only at the project's own path and at the old /workspace (both show the same dir).
    for (const at of ["/myapp", "/workspace"])
      expect(spec.extraMounts).toContainEqual({
        type: "bind",
        source: "/p/opencode.json",
        target: `${at}/opencode.json`,
        readOnly: true,
      });
    expect(spec).toMatchObject({
      password: "pw",
      // A3: sessions in the project's data volume, seeded once from an older state dir's home-local.
      dataVolume: "ocbox-app-1-data",
      dataSeed: base.state.homeLocal,
      // Which volume got the agent's dirs: a host file in the state dir, never in the volume.
      dataVolumeRecord: base.state.dataVolumeRecord,
      hostPort: 0,
      lifetime: "detached",
    });
    expect(env.passed).toEqual(["OPENAI_API_KEY"]);
    expect(spec.env).not.toHaveProperty("UNRELATED");
  });
  it("mounts the project at /<name>, and at /workspace for sessions made there before", () => {
    const { spec } = projectSpec({ ...base, hostEnv: {} });
    expect(spec.workspaceTarget).toBe("/myapp");
    const c = agentContainer(
      { ...spec, cacheVolumes: [{ name: "v", path: "node_modules", project: "app-1" }] },
      resourceNames(spec.sandboxId, "r1"),
      {},
    );
    expect(c.workingDir).toBe("/myapp");
    expect(c.mounts.slice(0, 4)).toEqual([
      { type: "bind", source: "/p", target: "/myapp" },
      { type: "volume", source: "v", target: "/myapp/node_modules" },
      { type: "bind", source: "/p", target: "/workspace" },
      { type: "volume", source: "v", target: "/workspace/node_modules" },
    ]);
    expect(c.labels).toMatchObject({ "dev.ocbox.workspace.target": "/myapp" });
  });
  it("a name on a system path is a config error naming the file, the key and the fix", () => {
    for (const name of ["bin", "etc", "tmp", "proc", "usr", "var", "home", "opt", "app", "workspace"]) {
      expect(() => parseProjectConfig(`name: ${name}\n`, "/p/ocbox.yaml")).toThrow(
        new RegExp(
          `/${name}, a system path[\\s\\S]*fix: choose another name, for example \`name: ${name}-project\``,
        ),
      );
    }
    expect(() => parseProjectConfig("name: My_Project\n", "/p/ocbox.yaml")).toThrow(/lower-case letters/);
    // The name from the folder (no `name:` key): up refuses before anything starts.
    const fromFolder = {
      ...project,
      config: parseProjectConfig("{}\n", "x"),
      name: "tmp",
      sandboxId: "tmp-1",
    };
    let err: unknown;
    try {
      projectSpec({ ...base, project: fromFolder, hostEnv: {} });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(OcboxError);
    expect((err as OcboxError).code).toBe("CONFIG");
    expect((err as OcboxError).message).toContain(
      "/p/ocbox.yaml: name: the name tmp would mount the project at /tmp",
    );
    expect((err as OcboxError).fix).toBe(
      "set `name:` in /p/ocbox.yaml: choose another name, for example `name: tmp-project`",
    );
    // run and eval keep /workspace whatever the name (warm sandboxes start before the task).
    expect(workspaceMountFor("myapp")).toBe("/myapp");
  });
  it("the web front lands on the project's route in OpenCode's app", () => {
    // base64url of the UTF-8 path, no padding (the app's own spelling; it refuses any other).
    expect(webSessionPath("/myapp")).toBe("/L215YXBw/session");
    expect(webSessionPath("/workspace", "ses_1")).toBe("/L3dvcmtzcGFjZQ/session/ses_1");
    expect(webDirSegment("/a?b")).toBe("L2E_Yg");
  });
  it("the front's opener hands the app a new-session deep link once per tab, from a same-origin script", () => {
    expect(newSessionDeepLink("/my app")).toBe("opencode://new-session?directory=%2Fmy%20app");
    const html = "<html><head><title>OpenCode</title></head><body></body></html>";
    expect(withOpenScript(html)).toBe(
      '<html><head><title>OpenCode</title><script src="/__ocbox/open-project.js"></script>\n</head><body></body></html>',
    );
    expect(withOpenScript("no head")).toBe("no head");
    const store = new Map<string, string>();
    const win: { __OPENCODE__?: { deepLinks: string[] } } = {};
    const run = (): void =>
      void runInNewContext(openProjectScript("/myapp"), {
        window: win,
        sessionStorage: {
          getItem: (k: string) => store.get(k) ?? null,
          setItem: (k: string, v: string) => store.set(k, v),
        },
      });
    run();
    expect(win.__OPENCODE__?.deepLinks).toEqual(["opencode://new-session?directory=%2Fmyapp"]);
    win.__OPENCODE__!.deepLinks = [];
    run(); // a reload of the same tab: nothing more
    expect(win.__OPENCODE__?.deepLinks).toEqual([]);
  });
  it("--port wins over ports.server", () => {
    expect(projectSpec({ ...base, hostEnv: {}, port: 4555 }).spec.hostPort).toBe(4555);
    expect(loopbackPort("https://api.openai.com/v1")).toBeUndefined();
    expect(loopbackPort("http://localhost/v1")).toBe(80);
  });
});

describe("hook env and attach argv", () => {
  it("parses env -0 output", () => {
    expect(parseEnvZ("A=1\0B=x=y\0\0")).toEqual({ A: "1", B: "x=y" });
  });
  it("a hook of comments and blank lines is not run; one command is", () => {
    expect(hookDoesNothing("#!/usr/bin/env bash\n# a comment\n\n   # indented\r\n")).toBe(true);
    expect(hookDoesNothing("")).toBe(true);
    expect(hookDoesNothing("# set up\nexport A=1\n")).toBe(false);
    expect(hookDoesNothing("  : # a no-op command is still a command\n")).toBe(false);
  });
  it("attach opens the project's dir inside", () => {
    expect(attachArgv("/bin/opencode", "http://127.0.0.1:5", [], "/myapp").slice(3)).toEqual([
      "--dir",
      "/myapp",
    ]);
  });
  it("attach puts no password in argv", () => {
    expect(attachArgv("/bin/opencode", "http://127.0.0.1:5")).toEqual([
      "/bin/opencode",
      "attach",
      "http://127.0.0.1:5",
      "--dir",
      "/workspace",
    ]);
  });
});
