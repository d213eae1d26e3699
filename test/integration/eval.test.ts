/**
 * `ocbox eval run | judge | report` as a user runs them (the built CLI), against the real engine,
 * the real sandbox image and opencode, with one scripted model for the solver and one for the
 * judge. Lean on purpose: two valid tasks and one invalid one.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureImages } from "../../src/image/build.js";
import { DockerEngine } from "../../src/runtime/docker-engine.js";
import { LABEL } from "../../src/runtime/labels.js";
import { scriptedOpencodeConfig } from "../../src/scripted-model/opencode-config.js";
import type { ScenarioInput } from "../../src/scripted-model/scenario.js";
import { startScriptedModel, type ScriptedModel } from "../../src/scripted-model/server.js";
import { ocbox, evalRunArgs } from "../helpers/cli.js";
import { TEST_RUNTIME } from "../helpers/runtime.js";

const engine = new DockerEngine();
const root = mkdtempSync(join(tmpdir(), "ocbox-eval-it-"));
const tasks = join(root, "tasks");
let solver: ScriptedModel;
let judge: ScriptedModel;
let solverConfig: string;
let judgeConfig: string;

function task(id: string, files: Record<string, string>) {
  mkdirSync(join(tasks, id, "app"), { recursive: true });
  writeFileSync(join(tasks, id, "app", "README.md"), `task ${id}\n`);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(tasks, id, name), text);
}

const alphaTurns: ScenarioInput["turns"] = [
  {
    match: "TASK-ALPHA",
    toolCalls: [{ name: "write", arguments: { filePath: "/workspace/hello.txt", content: "hello\n" } }],
  },
  { match: "TASK-ALPHA", structured: { outcome: "COMPLETE", summary: "wrote hello.txt" } },
];
const betaDone = { match: "TASK-BETA", structured: { outcome: "COMPLETE", summary: "nothing to do" } };

const modelCalls = (m: ScriptedModel, marker: string, from = 0) =>
  m.requests.slice(from).filter((r) => r.answeredBy === "turn" && JSON.stringify(r.body).includes(marker))
    .length;

async function containersOf(pid: number | undefined) {
  return engine.listContainers([`${LABEL.ownerPid}=${pid}`], true);
}

beforeAll(async () => {
  await ensureImages(engine);
  // The gVisor leg: the task set's (and the output's) ocbox.yaml names the runtime; it is not a
  // weakening, so no approval is asked.
  if (TEST_RUNTIME) writeFileSync(join(root, "ocbox.yaml"), `hardening:\n  runtime: ${TEST_RUNTIME}\n`);
  task("alpha", {
    "prompt.md": "TASK-ALPHA: write hello.txt containing hello.\n",
    "requirements.yaml": "- id: hello\n  description: hello.txt holds the word hello\n  weight: 2\n",
    "task.yaml": "timeoutS: 120\ncheck: grep -q hello hello.txt\n",
  });
  task("beta", {
    "prompt.md": "TASK-BETA: check the README.\n",
    "requirements.yaml":
      "- id: b1\n  description: README untouched\n- id: b2\n  description: nothing else added\n",
  });
  task("gamma", {
    "prompt.md": "TASK-GAMMA\n",
    "requirements.yaml": "- id: g1\n  description: fine\n  weight: lots\n",
  });
  solver = await startScriptedModel({ scenario: { turns: [] } });
  judge = await startScriptedModel({ scenario: { turns: [] } });
  solverConfig = join(root, "solver.json");
  judgeConfig = join(root, "judge.json");
  writeFileSync(solverConfig, JSON.stringify(scriptedOpencodeConfig(solver.url)));
  writeFileSync(judgeConfig, JSON.stringify(scriptedOpencodeConfig(judge.url)));
});

afterAll(async () => {
  await solver?.close();
  await judge?.close();
});

const runArgs = (output: string, extra: string[] = []) =>
  evalRunArgs({ tasks, output, workers: 2, config: solverConfig }, ...extra);

describe("ocbox eval", () => {
  const output = join(root, "out");

  it("runs a task set with 2 workers to completion; the invalid task is skipped and counted", async () => {
    solver.setScenario({ turns: [...alphaTurns, betaDone] });
    const started = performance.now();
    const done = ocbox([...runArgs(output, ["--agent-logs"]), "--json"]);
    const r = await done;
    const seconds = (performance.now() - started) / 1000;
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(result).toMatchObject({ units: 2, ran: 2, completed: 2, agentFailed: 0, infraFailed: 0 });
    expect(result.invalid).toEqual([
      expect.objectContaining({
        id: "gamma",
        field: "[0].weight",
        path: expect.stringMatching(/requirements\.yaml:3:\d+$/) as unknown,
      }),
    ]);
    // Logging settings line, agent log lines prefixed by the unit.
    expect(r.stderr).toMatch(/logging: server log level DEBUG/);
    expect(r.stderr).toMatch(/\[ocbox\]\[alpha#1\]\[agent\] tool write/);

    const unit = join(output, "tasks", "alpha", "r1");
    expect(readFileSync(join(unit, "workspace", "hello.txt"), "utf8")).toBe("hello\n");
    expect(existsSync(join(tasks, "alpha", "app", "hello.txt"))).toBe(false);
    expect(readFileSync(join(unit, "diff.patch"), "utf8")).toMatch(/\+\+\+ b\/hello\.txt\n@@ .*\n\+hello/);
    const unitResult = JSON.parse(readFileSync(join(unit, "result.json"), "utf8")) as Record<string, unknown>;
    expect(unitResult).toMatchObject({ outcome: "COMPLETE" });
    expect(unitResult["security"]).toEqual(TEST_RUNTIME ? { runtime: TEST_RUNTIME } : undefined);
    expect(JSON.parse(readFileSync(join(unit, "unit.json"), "utf8"))).toMatchObject({
      check: { exitCode: 0 },
      infra: false,
    });
    const session = JSON.parse(readFileSync(join(unit, "session.json"), "utf8")) as { messages: unknown[] };
    expect(session.messages.length).toBeGreaterThan(1);
    const manifest = JSON.parse(readFileSync(join(output, "manifest.json"), "utf8")) as Record<
      string,
      unknown
    >;
    expect(manifest).toMatchObject({
      config: { model: "scripted/scripted", repeat: 1, runtime: TEST_RUNTIME ?? "default" },
      opencode: expect.any(String) as unknown,
    });
    expect(Object.keys(manifest.tasks as object).sort()).toEqual(["alpha", "beta"]);
    expect(await containersOf(done.child.pid)).toEqual([]);
    console.log(`eval run: 2 tasks, 2 workers in ${seconds.toFixed(1)} s`);

    // The same command again: nothing to do. A changed config is refused.
    const again = await ocbox([...runArgs(output), "--json"]);
    expect(JSON.parse(again.stdout)).toMatchObject({ ran: 0, kept: 2 });
    const changed = await ocbox(runArgs(output, ["--repeat", "2"]));
    expect(changed.code).toBe(2);
    expect(changed.stderr).toContain("repeat: 1 → 2");
  });

  it("resumes after kill -9: finished tasks are kept, the interrupted one reruns, no container is left", async () => {
    const out = join(root, "out-kill");
    solver.setScenario({ turns: [...alphaTurns, { match: "TASK-BETA", hang: true }] });
    const first = ocbox(runArgs(out));
    const pid = first.child.pid;
    const journal = join(out, "journal.jsonl");
    const deadline = Date.now() + 240_000;
    while (!(existsSync(journal) && readFileSync(journal, "utf8").includes('"type":"end","at"'))) {
      if (Date.now() > deadline) throw new Error("alpha never finished");
      await sleep(250);
    }
    expect(readFileSync(journal, "utf8")).toContain('"unit":"alpha#1"');
    expect((await containersOf(pid)).length).toBeGreaterThan(0); // beta's sandbox, in flight
    first.child.kill("SIGKILL");
    await first;

    solver.setScenario({ turns: [...alphaTurns, betaDone] });
    const mark = solver.requests.length;
    const second = await ocbox([...runArgs(out), "--json"]);
    expect(second.code, second.stderr).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({ ran: 1, kept: 1, completed: 2 });
    expect(second.stderr).toContain("1 interrupted, rerun");
    expect(modelCalls(solver, "TASK-ALPHA", mark)).toBe(0);
    expect(await containersOf(pid)).toEqual([]);
  });

  it("judges with a structured verdict, caches it, and rejudges only on request; the report renders", async () => {
    judge.setScenario({
      turns: [
        {
          match: "TASK-ALPHA",
          structured: {
            outcome: "COMPLETE",
            verdicts: [
              {
                id: "hello",
                score: 1,
                passed: true,
                reason: "hello.txt says hello",
                evidence: ["hello.txt:1"],
              },
            ],
          },
        },
        {
          match: "TASK-BETA",
          structured: {
            outcome: "COMPLETE",
            verdicts: [{ id: "b1", score: 1, passed: true, reason: "README is unchanged", evidence: [] }],
          },
        },
      ],
    });
    const args = [
      "eval",
      "judge",
      "--model",
      "scripted/scripted",
      "--input",
      output,
      "--opencode-config",
      judgeConfig,
    ];
    const first = await ocbox([...args, "--workers", "2", "--json"]);
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ judged: 2, cached: 0, failed: 0 });
    const beta = JSON.parse(readFileSync(join(output, "tasks", "beta", "r1", "judge.json"), "utf8")) as {
      grade: { score: number; missing: number; requirements: Array<{ id: string; passed: boolean }> };
    };
    expect(beta.grade).toMatchObject({ score: 0.5, missing: 1 });
    expect(beta.grade.requirements.find((r) => r.id === "b2")?.passed).toBe(false);
    const summary = JSON.parse(readFileSync(join(output, "summary.json"), "utf8")) as {
      totals: Record<string, unknown>;
    };
    expect(summary.totals).toMatchObject({
      judged: 2,
      invalidTasks: 1,
      infraFailed: 0,
      score: { mean: 0.75 },
    });

    const calls = judge.requests.length;
    const cached = await ocbox([...args, "--json"]);
    expect(JSON.parse(cached.stdout)).toMatchObject({ judged: 0, cached: 2 });
    expect(judge.requests.length).toBe(calls); // no model call at all

    judge.setScenario({
      turns: [
        {
          match: "TASK-BETA",
          structured: {
            outcome: "COMPLETE",
            verdicts: [
              { id: "b1", score: 1, passed: true, reason: "ok", evidence: [] },
              { id: "b2", score: 1, passed: true, reason: "ok", evidence: [] },
            ],
          },
        },
      ],
    });
    const judgeMark = judge.requests.length;
    const rerun = await ocbox([...args, "--rerun", "beta", "--json"]);
    expect(JSON.parse(rerun.stdout)).toMatchObject({ judged: 1, cached: 1 });
    expect(modelCalls(judge, "TASK-ALPHA", judgeMark)).toBe(0);

    const report = join(output, "report.html");
    const html = readFileSync(report, "utf8");
    expect(html).not.toMatch(/<(script|link)[^>]+(src|href)=/);
    const browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: ["--no-sandbox"],
    });
    try {
      const page = await browser.newPage();
      await page.goto(`file://${report}`);
      expect(await page.locator("tr.unit-row").count()).toBe(2);
      expect(await page.locator("#mean-score").textContent()).toBe("100%");
      await page.locator("#u-alpha-1 summary").click();
      await expect
        .poll(() => page.locator("#u-alpha-1 .verdicts").textContent())
        .toContain("hello.txt says hello");
      expect(await page.locator("#u-alpha-1 .timeline").textContent()).toContain("write");
      await page.screenshot({ path: join(root, "report.png"), fullPage: true });
    } finally {
      await browser.close();
    }
  });
});
