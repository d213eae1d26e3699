import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { once } from "node:events";
import { expect, it } from "vitest";
import { ensureImages } from "../../src/image/build.js";
import { DockerEngine } from "../../src/runtime/docker-engine.js";
import { LABEL } from "../../src/runtime/labels.js";
import { processStart } from "../../src/runtime/owner.js";
import { hostname } from "node:os";
import { ocbox } from "../helpers/cli.js";

const engine = new DockerEngine();

it("ocbox smoke runs the real agent end to end and reports every step", async () => {
  const r = await ocbox(["smoke", "--json"]);
  expect(r.stderr).toBe("");
  const report = JSON.parse(r.stdout) as {
    ok: boolean;
    steps: Array<{ name: string; status: string; seconds: number; detail?: string }>;
  };
  // On a failure, the steps' details name the cause (the engine's own message).
  const details = report.steps.map((s) => `${s.name} ${s.status}: ${s.detail ?? ""}`).join("\n");
  expect(
    report.steps.map((s) => [s.name, s.status]),
    details,
  ).toEqual([
    ["engine", "ok"],
    ["image", "ok"],
    ["sandbox", "ok"],
    ["prompt", "ok"],
    ["result", "ok"],
  ]);
  expect(report.ok).toBe(true);
  expect(r.code).toBe(0);

  const human = await ocbox(["smoke"]);
  expect(human.code).toBe(0);
  expect(human.stdout).toMatch(
    /✓ engine .*\n✓ image .*\n✓ sandbox .*\n✓ prompt .*\n✓ result .*contract COMPLETE/,
  );
});

it("Ctrl+C during smoke leaves no labelled container or volume behind", async () => {
  const run = ocbox(["smoke"]);
  const pid = run.child.pid as number;
  const mine = [`${LABEL.ownerPid}=${pid}`];
  // Wait until the sandbox's containers exist, then interrupt as a terminal would.
  const deadline = Date.now() + 120_000;
  while ((await engine.listContainers(mine, true)).length < 2) {
    if (Date.now() > deadline) throw new Error("the sandbox's containers never appeared");
    await new Promise((r) => setTimeout(r, 100));
  }
  run.child.kill("SIGINT");
  const r = await run;
  expect(r.code).toBe(130);
  expect(r.stderr).toMatch(/SIGINT: stopping/);
  expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  expect(await engine.listContainers(mine, true)).toEqual([]);
  expect(await engine.listVolumes(mine)).toEqual([]);
});

it("the reaper removes a container whose owner process is dead", async () => {
  // A real process that has exited: its pid is free and its start time is known.
  const child = spawn("sleep", ["0.1"]);
  const pid = child.pid as number;
  const start = processStart(pid) ?? "";
  await once(child, "exit");
  const set = await ensureImages(engine);
  const name = `ocbox-reaper-test-${pid}`;
  const id = await engine.createContainer({
    name,
    image: set.egress.tag,
    labels: {
      [LABEL.managed]: "true",
      [LABEL.sandbox]: "reaper-test",
      [LABEL.run]: String(pid),
      [LABEL.role]: "agent",
      [LABEL.ownerHost]: hostname(),
      [LABEL.ownerPid]: String(pid),
      [LABEL.ownerStart]: start,
      [LABEL.lifetime]: "session",
      [LABEL.startedAt]: new Date().toISOString(),
    },
    env: {},
    user: "65534:65534",
    cmd: ["sleep", "600"],
    networkMode: "none",
    mounts: [],
    tmpfs: {},
    readOnlyRoot: true,
    capDrop: ["ALL"],
    capAdd: [],
    securityOpt: ["no-new-privileges:true"],
    limits: {},
    stopTimeout: 1,
    logMaxSize: "1m",
    logMaxFiles: 1,
  });
  await engine.startContainer(id);
  const r = await ocbox(["clean", "--json"]);
  expect(r.code).toBe(0);
  expect((JSON.parse(r.stdout) as { containers: string[] }).containers).toContain(name);
  expect(await engine.containerState(id)).toBeUndefined();
});

it("with no engine, commands say so with DOCKER_HOST and the fix, and no stack trace", async () => {
  const env = { DOCKER_HOST: "unix:///tmp/ocbox-no-engine.sock" };
  const r = await ocbox(["image", "build"], { env });
  expect(r.code).toBe(3);
  expect(r.stderr).toContain("no container engine answers at unix:///tmp/ocbox-no-engine.sock");
  expect(r.stderr).toContain("DOCKER_HOST");
  expect(r.stderr).not.toMatch(/\n\s+at /);

  const s = await ocbox(["smoke", "--json"], { env });
  expect(s.code).toBe(1);
  const report = JSON.parse(s.stdout) as { steps: Array<{ name: string; status: string; fix?: string }> };
  expect(report.steps[0]).toMatchObject({ name: "engine", status: "failed" });
  expect(report.steps[0]?.fix).toContain("DOCKER_HOST");
  expect(report.steps.slice(1).every((x) => x.status === "skipped")).toBe(true);
});

it("bad usage exits 2 with the usage hint", async () => {
  const r = await ocbox(["smoke", "--no-such-flag"]);
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/unknown option/);
});

it("ocbox run prints a typed result and exits by outcome; the endpoint and model are logged", async () => {
  const { startScriptedModel } = await import("../../src/scripted-model/server.js");
  const { scriptedOpencodeConfig } = await import("../../src/scripted-model/opencode-config.js");
  const model = await startScriptedModel({
    scenario: {
      turns: [
        { structured: { outcome: "COMPLETE", summary: "ok" } },
        { structured: { outcome: "NEEDS_INFO", questions: ["Which file?"] } },
      ],
    },
  });
  try {
    const ws = mkdtempSync(join(tmpdir(), "ocbox-cli-run-"));
    writeFileSync(join(ws, "opencode.json"), JSON.stringify(scriptedOpencodeConfig(model.url)));
    // Its baseURL is on loopback (a weakening key): approved once, recorded for the next run.
    const done = await ocbox(["run", "-w", ws, "-p", "do it", "--json", "--approve-config"]);
    expect(done.code).toBe(0);
    const result = JSON.parse(done.stdout) as { outcome: string; model: { endpoint: string } };
    expect(result).toMatchObject({ outcome: "COMPLETE", model: { endpoint: model.url } });
    expect(done.stderr).toContain(`model scripted/scripted at ${model.url}`);

    const ask = await ocbox(["run", "-w", ws, "-p", "do it"]);
    expect(ask.code).toBe(10);
    expect(ask.stdout).toMatch(/NEEDS_INFO[\s\S]*Which file\?/);

    const bad = await ocbox(["run", "-w", ws]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/give exactly one of --prompt and --prompt-file/);
  } finally {
    await model.close();
  }
});
