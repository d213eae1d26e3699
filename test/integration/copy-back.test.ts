/**
 * Host-boundary items 4, 10, 12 and 15a, issue 17 failure 2: what comes back from an agent's tree
 * to the host. The scripted model drives the agent's bash tool in a real sandbox; the tests look at
 * what landed on the host: the eval output (warm pool through the CLI, cold through the library)
 * and a warm-pool task's workspace (the path `ocbox run` takes through the library).
 */
import { execFileSync } from "node:child_process";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runEval } from "../../src/eval/run.js";
import { loggingSettings } from "../../src/eval/logging.js";
import { ensureImages, type ImageSet } from "../../src/image/build.js";
import { DockerEngine } from "../../src/runtime/docker-engine.js";
import { scriptedOpencodeConfig } from "../../src/scripted-model/opencode-config.js";
import type { ScenarioInput } from "../../src/scripted-model/scenario.js";
import { startScriptedModel, type ScriptedModel } from "../../src/scripted-model/server.js";
import { ocbox, evalRunArgs } from "../helpers/cli.js";

const engine = new DockerEngine();
const root = mkdtempSync(join(tmpdir(), "ocbox-copyback-it-"));
const state = join(root, "state");
process.env.XDG_STATE_HOME = state;
const tasks = join(root, "tasks");
const outside = join(root, "outside");
let images: ImageSet;
let model: ScriptedModel;
let modelConfig: string;

const CAP = 1024 * 1024;
const MODES =
  "mkdir /workspace/shared && chmod 1777 /workspace/shared && " +
  "printf '#!/bin/sh\\nid\\n' > /workspace/suid && chmod 6755 /workspace/suid && " +
  "echo open > /workspace/open && chmod 0666 /workspace/open && stat -c '%a %n' /workspace/*";
const BIG =
  `truncate -s 10T /workspace/big && head -c ${CAP + 1} /dev/urandom > /workspace/over && ` +
  "echo ok > /workspace/small && ls -ls /workspace";

type Turns = NonNullable<ScenarioInput["turns"]>;
const bash = (marker: string, command: string): Turns => [
  { match: marker, toolCalls: [{ name: "bash", arguments: { command, description: marker } }] },
  { match: marker, structured: { outcome: "COMPLETE", summary: "done" } },
];
const scenario = (): ScenarioInput => ({ turns: [...bash("TASK-MODES", MODES), ...bash("TASK-BIG", BIG)] });

function task(id: string, prompt: string) {
  mkdirSync(join(tasks, id, "app"), { recursive: true });
  writeFileSync(join(tasks, id, "app", "README.md"), `task ${id}\n`);
  writeFileSync(join(tasks, id, "prompt.md"), `${prompt}\n`);
  writeFileSync(join(tasks, id, "requirements.yaml"), "- id: a\n  description: done\n");
}

const mode = (p: string) => lstatSync(p).mode & 0o7777;

/** Allocated bytes under a dir, as `du` counts them. */
const du = (dir: string) => Number(execFileSync("du", ["-sB1", dir], { encoding: "utf8" }).split("\t")[0]);

function slotsLeft(): string[] {
  const run = join(state, "ocbox", "run");
  return existsSync(run) ? readdirSync(run) : [];
}

beforeAll(async () => {
  images = await ensureImages(engine);
  task("modes", "TASK-MODES: make a few files.");
  task("big", "TASK-BIG: make big files.");
  // Item 12: a task whose app/ is a link to a dir outside the task set.
  mkdirSync(outside);
  writeFileSync(join(outside, "id_ed25519"), "host secret\n");
  mkdirSync(join(tasks, "linked"));
  writeFileSync(join(tasks, "linked", "prompt.md"), "TASK-LINKED\n");
  writeFileSync(join(tasks, "linked", "requirements.yaml"), "- id: a\n  description: done\n");
  symlinkSync(outside, join(tasks, "linked", "app"));
  // The project config found from the tasks dir upwards: a small per-file cap.
  writeFileSync(join(root, "ocbox.yaml"), "limits:\n  copyBack:\n    maxFile: 1m\n");
  model = await startScriptedModel({ scenario: scenario() });
  modelConfig = join(root, "model.json");
  writeFileSync(modelConfig, JSON.stringify(scriptedOpencodeConfig(model.url)));
});

afterAll(async () => {
  await model?.close();
});

function expectModesMasked(unit: string) {
  const ws = join(unit, "workspace");
  expect(JSON.parse(readFileSync(join(unit, "result.json"), "utf8"))).toMatchObject({ outcome: "COMPLETE" });
  expect(mode(join(ws, "shared"))).toBe(0o755);
  expect(mode(join(ws, "suid"))).toBe(0o755);
  expect(mode(join(ws, "open"))).toBe(0o644);
  expect(lstatSync(join(ws, "suid")).uid).toBe(process.getuid?.());
}

function expectBigLeftOut(unit: string) {
  const result = JSON.parse(readFileSync(join(unit, "result.json"), "utf8")) as Record<string, unknown>;
  expect(result).toMatchObject({
    outcome: "ERROR",
    failureReason: "OUTPUT_TOO_LARGE",
    leftOut: [
      { path: "big", reason: "over-file-cap", size: 10 * 1024 ** 4 },
      { path: "over", reason: "over-file-cap", size: CAP + 1 },
    ],
  });
  expect(result.hint).toMatch(/without big \(over the per-file cap, 10 TiB\), over \(over the per-file cap/);
  const ws = join(unit, "workspace");
  expect(readFileSync(join(ws, "small"), "utf8")).toBe("ok\n");
  expect(existsSync(join(ws, "big"))).toBe(false);
  expect(existsSync(join(ws, "over"))).toBe(false);
  expect(existsSync(join(unit, "agent-workspace"))).toBe(false);
  expect(du(unit)).toBeLessThan(CAP);
}

describe("copy back to the host", () => {
  it("eval run (warm pool, the CLI): modes masked, over-cap files left out with OUTPUT_TOO_LARGE, a linked app/ refused, outputs 0700/0600", async () => {
    const output = join(root, "out-warm");
    const r = await ocbox(evalRunArgs({ tasks, output, config: modelConfig }, "--json"), {
      env: { XDG_STATE_HOME: state },
    });
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(summary).toMatchObject({ units: 2, ran: 2, completed: 1, agentFailed: 1, infraFailed: 0 });
    expect(summary.invalid).toEqual([
      expect.objectContaining({
        id: "linked",
        field: "app",
        problem: expect.stringMatching(/symbolic link/) as unknown,
      }),
    ]);
    expect(readdirSync(outside)).toEqual(["id_ed25519"]);
    expect(existsSync(join(output, "tasks", "linked"))).toBe(false);

    const modes = join(output, "tasks", "modes", "r1");
    expectModesMasked(modes);
    expectBigLeftOut(join(output, "tasks", "big", "r1"));
    expect(slotsLeft()).toEqual([]);

    // Item 15a: the output is the user's alone.
    for (const d of [output, join(output, "tasks"), modes, join(modes, "workspace")])
      expect(mode(d)).toBe(0o700);
    for (const f of ["result.json", "unit.json", "session.json", "diff.patch"])
      expect(mode(join(modes, f))).toBe(0o600);
    for (const f of ["manifest.json", "journal.jsonl", "summary.json"])
      expect(mode(join(output, f))).toBe(0o600);
  });

  it("eval run (cold sandboxes, the library): the same, though the agent wrote on a bind mount", async () => {
    model.setScenario(scenario());
    const output = join(root, "out-cold");
    const result = await runEval({
      model: "scripted/scripted",
      tasksDir: tasks,
      outputDir: output,
      filter: "modes,big",
      opencodeConfig: scriptedOpencodeConfig(model.url),
      logging: loggingSettings({}, {}),
      warmPool: false,
      engine,
      images,
    });
    expect(result).toMatchObject({ ran: 2, completed: 1, agentFailed: 1 });
    expect(
      JSON.parse(readFileSync(join(output, "tasks", "modes", "r1", "result.json"), "utf8")),
    ).toMatchObject({
      sandbox: "cold",
    });
    expectModesMasked(join(output, "tasks", "modes", "r1"));
    expectBigLeftOut(join(output, "tasks", "big", "r1"));
  });
});

describe("the warm pool's sync back (issue 17 failure 2)", () => {
  it("a failed copy back is INFRASTRUCTURE, keeps the slot with the agent's work and says where it is", async () => {
    model.setScenario({
      turns: bash("TASK-EDIT", "echo 'agent work' > /workspace/README.md && echo new > /workspace/new.txt"),
    });
    const ws = mkdtempSync(join(tmpdir(), "ocbox-copyback-ws-"));
    writeFileSync(join(ws, "README.md"), "start\n");
    const { planTask } = await import("../../src/executor/prepare.js");
    const { executeTask } = await import("../../src/executor/run-task.js");
    const { WarmPool } = await import("../../src/executor/warm-pool.js");
    const plan = await planTask({
      workspace: ws,
      model: "scripted/scripted",
      opencodeConfig: scriptedOpencodeConfig(model.url),
      engine,
      images,
    });
    const pool = new WarmPool(engine, plan.profile, { size: 1 });
    // The host cannot replace README.md (immutable even for root): the copy back fails half-way.
    execFileSync("chattr", ["+i", join(ws, "README.md")]);
    try {
      await pool.whenFull();
      const result = await executeTask(plan, { workspace: ws, prompt: "TASK-EDIT", warmPool: pool });
      expect(result).toMatchObject({ outcome: "ERROR", failureReason: "INFRASTRUCTURE", sandbox: "warm" });
      const kept = /it is in (\S+)\. /.exec(result.hint ?? "")?.[1];
      expect(kept, result.hint ?? "").toBeDefined();
      // Kept out of the run dirs, which the reaper empties once this process is gone.
      expect(kept?.startsWith(join(state, "ocbox", "kept", ""))).toBe(true);
      expect(readFileSync(join(kept as string, "README.md"), "utf8")).toBe("agent work\n");
      expect(readFileSync(join(kept as string, "new.txt"), "utf8")).toBe("new\n");
    } finally {
      execFileSync("chattr", ["-i", join(ws, "README.md")]);
      await pool.close();
    }
    // The pool's own dirs are gone; the kept work is not among them.
    expect(slotsLeft()).toEqual([]);
  });
});
