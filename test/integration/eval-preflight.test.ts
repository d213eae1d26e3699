/**
 * Issue 17, failure 4: an eval with an unknown `--model` provider, or a task folder with no task,
 * is a usage error (exit 2) found before any sandbox starts, not an empty or all-INFRASTRUCTURE
 * run that exits 0. Run through the built CLI, as a user would.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureImages } from "../../src/image/build.js";
import { DockerEngine } from "../../src/runtime/docker-engine.js";
import { LABEL } from "../../src/runtime/labels.js";
import { scriptedOpencodeConfig } from "../../src/scripted-model/opencode-config.js";
import { startScriptedModel, type ScriptedModel } from "../../src/scripted-model/server.js";
import { ocbox, type CliResult, evalRunArgs } from "../helpers/cli.js";

const engine = new DockerEngine();
const root = mkdtempSync(join(tmpdir(), "ocbox-eval-preflight-"));
const tasks = join(root, "tasks");
let solver: ScriptedModel;
let config: string;

/** Runs the CLI and returns its result with the containers its process created (by owner pid). */
async function run(args: string[]): Promise<CliResult & { containers: unknown[] }> {
  const done = ocbox(args, { env: { XDG_STATE_HOME: join(root, "state") } });
  const pid = done.child.pid;
  const r = await done;
  return { ...r, containers: await engine.listContainers([`${LABEL.ownerPid}=${pid}`], true) };
}

beforeAll(async () => {
  await ensureImages(engine);
  mkdirSync(join(tasks, "one", "app"), { recursive: true });
  writeFileSync(join(tasks, "one", "prompt.md"), "TASK-ONE: nothing to do.\n");
  writeFileSync(join(tasks, "one", "requirements.yaml"), "- id: r1\n  description: fine\n");
  solver = await startScriptedModel({
    scenario: { turns: [{ structured: { outcome: "COMPLETE", summary: "done" } }] },
  });
  config = join(root, "scripted.json");
  writeFileSync(config, JSON.stringify(scriptedOpencodeConfig(solver.url)));
});

afterAll(async () => {
  await solver?.close();
});

describe("eval preflight", () => {
  it("an unknown --model provider exits 2 with the provider list and the fix; nothing starts or is written", async () => {
    const output = join(root, "out-unknown");
    const started = performance.now();
    const r = await run(evalRunArgs({ tasks, output, config, model: "nosuch/model-x" }));
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/--model: unknown provider "nosuch"/);
    expect(r.stderr).toMatch(/known providers: scripted, .*anthropic/);
    expect(r.stderr).toMatch(/Define the provider under `provider` in opencode\.json/);
    expect(r.containers).toEqual([]);
    expect(existsSync(join(output, "manifest.json"))).toBe(false);
    expect((performance.now() - started) / 1000).toBeLessThan(60);
  });

  it("a tasks folder with no task in it, or a filter that matches none, exits 2", async () => {
    const empty = join(root, "empty-tasks");
    mkdirSync(join(empty, "not-a-task"), { recursive: true });
    const base = ["eval", "run", "--model", "scripted/scripted", "--opencode-config", config];
    const none = await run([...base, "--tasks", empty, "--output", join(root, "out-empty")]);
    expect(none.code, none.stderr).toBe(2);
    expect(none.stderr).toMatch(/holds no task/);
    expect(none.stderr).toMatch(/prompt\.md/);
    expect(none.containers).toEqual([]);
    const filtered = await run([
      ...base,
      "--tasks",
      tasks,
      "--output",
      join(root, "out-f"),
      "--filter",
      "zz*",
    ]);
    expect(filtered.code, filtered.stderr).toBe(2);
    expect(filtered.stderr).toMatch(/no task in .* matches --filter zz\*/);
  });

  it("an unknown judge model exits 2 before any judge sandbox starts", async () => {
    const output = join(root, "out-judged");
    const ran = await run(evalRunArgs({ tasks, output, config }));
    expect(ran.code, ran.stderr).toBe(0);
    const before = readdirSync(join(output, "tasks", "one", "r1"));
    const judged = await run(["eval", "judge", "--model", "nosuch/judge", "--input", output]);
    expect(judged.code, judged.stderr).toBe(2);
    expect(judged.stderr).toMatch(/unknown provider "nosuch"/);
    expect(judged.stderr).toMatch(/known providers: /);
    expect(judged.containers).toEqual([]);
    expect(readdirSync(join(output, "tasks", "one", "r1"))).toEqual(before); // no judge.json
  });
});
