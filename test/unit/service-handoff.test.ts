/**
 * `ocbox run`'s handoff to a running `ocbox serve`, the pure parts: when it hands over (same
 * version, install and engine settings) and when it runs here and why; the request it sends
 * (every flag, the client's cwd and environment); the opt-out variable.
 */
import { describe, expect, it } from "vitest";
import { parseTaskRequest, taskOptionsFromRequest } from "../../src/service/task-request.js";
import { handoffRequest, handoffTarget, noServeInEnv } from "../../src/service/handoff.js";
import { engineSettings } from "../../src/service/protocol.js";
import type { ServiceInfo } from "../../src/service/service-files.js";

const me = { version: "1.2.3", root: "/opt/ocbox", engine: {} };
const info: ServiceInfo = {
  url: "http://127.0.0.1:4000",
  port: 4000,
  pid: 42,
  pidStart: "1",
  version: "1.2.3",
  startedAt: "2026-01-01T00:00:00Z",
  root: "/opt/ocbox",
  engine: {},
};

describe("handoff target", () => {
  it("hands over to a live service of the same version, install and engine settings", () => {
    expect(handoffTarget(info, me)).toEqual({ kind: "service", info });
  });

  it("no live service (none, or a stale file of a dead one): runs here and says nothing", () => {
    expect(handoffTarget(undefined, me)).toEqual({ kind: "here" });
  });

  it("another version or install, other engine settings: runs here and says why in one line", () => {
    const older = handoffTarget({ ...info, version: "1.2.2" }, me);
    expect(older).toMatchObject({ kind: "here" });
    expect(older.kind === "here" && older.notice).toMatch(
      /^ocbox: the running service \(pid 42\) is ocbox 1\.2\.2 of \/opt\/ocbox, not this ocbox 1\.2\.3 of \/opt\/ocbox; running the task here$/,
    );
    const elsewhere = handoffTarget({ ...info, root: "/other/ocbox" }, me);
    expect(elsewhere.kind === "here" && elsewhere.notice).toMatch(/of \/other\/ocbox, not this/);
    const noRoot = handoffTarget({ ...info, root: undefined }, me);
    expect(noRoot.kind === "here" && noRoot.notice).toMatch(/of an older install/);
    const engine = handoffTarget(info, { ...me, engine: { DOCKER_HOST: "unix:///run/podman.sock" } });
    expect(engine.kind === "here" && engine.notice).toBe(
      "ocbox: the running service (pid 42) uses other engine settings (the defaults; here DOCKER_HOST=unix:///run/podman.sock); running the task here",
    );
  });

  it("engine settings are DOCKER_HOST, DOCKER_CONTEXT and OCBOX_SERVER_TRANSPORT, blank ones left out", () => {
    expect(
      engineSettings({
        DOCKER_HOST: " unix:///x ",
        DOCKER_CONTEXT: "",
        OCBOX_SERVER_TRANSPORT: "exec",
        HOME: "/h",
      }),
    ).toEqual({ DOCKER_HOST: "unix:///x", OCBOX_SERVER_TRANSPORT: "exec" });
  });
});

describe("handoff request", () => {
  it("carries every flag, the client's cwd and its whole environment; the service turns it back", () => {
    const body = handoffRequest(
      {
        workspace: "ws",
        promptFile: "task.md",
        role: "coder",
        model: "p/m",
        workflowFile: "../wf.yaml",
        taskId: "t1",
        timeouts: { hardS: 30, inactivityS: null },
        permissions: "autonomous",
        maxRetriesOnMalformedOutput: 0,
        structuredOutput: false,
        structurer: { enabled: false },
        approveConfig: true,
        copy: true,
      },
      "/home/u/proj",
      { API_KEY: "client-side", GONE: undefined },
    );
    expect(body).toEqual({
      cwd: "/home/u/proj",
      workspace: "ws",
      promptFile: "task.md",
      role: "coder",
      model: "p/m",
      workflow: "../wf.yaml",
      taskId: "t1",
      timeout: 30,
      inactivity: 0,
      permissions: "autonomous",
      retries: 0,
      structuredOutput: false,
      structurer: false,
      approveConfig: true,
      copy: true,
      env: { API_KEY: "client-side" },
    });
    expect(taskOptionsFromRequest(parseTaskRequest(body))).toMatchObject({
      workspace: "/home/u/proj/ws",
      promptFile: "/home/u/proj/task.md",
      workflowFile: "/home/u/wf.yaml",
      timeouts: { hardS: 30, inactivityS: null },
      maxRetriesOnMalformedOutput: 0,
      structuredOutput: false,
      structurer: { enabled: false },
      copy: true,
      hostEnv: { API_KEY: "client-side" },
    });
  });

  it("defaults stay the service's defaults (no key sent)", () => {
    expect(handoffRequest({ workspace: ".", prompt: "x" }, "/w", {})).toEqual({
      cwd: "/w",
      workspace: ".",
      prompt: "x",
      env: {},
    });
  });
});

it("OCBOX_NO_SERVE: any value but empty and 0 opts out", () => {
  expect(noServeInEnv({})).toBe(false);
  expect(noServeInEnv({ OCBOX_NO_SERVE: "" })).toBe(false);
  expect(noServeInEnv({ OCBOX_NO_SERVE: "0" })).toBe(false);
  expect(noServeInEnv({ OCBOX_NO_SERVE: "1" })).toBe(true);
  expect(noServeInEnv({ OCBOX_NO_SERVE: "yes" })).toBe(true);
});
