import { mkdirSync, mkdtempSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { describeEvent } from "../../src/eval/agent-log.js";
import { journalState, readJournal, Journal } from "../../src/eval/journal.js";
import { loggingSettings } from "../../src/eval/logging.js";
import { harborVerifierSchema } from "../../src/config/harbor-task-schema.js";
import { configChanges, manifestTask, parseManifest } from "../../src/eval/manifest.js";
import { Progress } from "../../src/eval/progress.js";
import { renderReport } from "../../src/eval/report.js";
import { summarise, type UnitView } from "../../src/eval/summary.js";
import { globMatcher, loadTaskSet, type TaskDef } from "../../src/eval/task-set.js";
import { planUnits, runWorkers, warmPoolMaxStarting, warmPoolSize } from "../../src/eval/units.js";
import { grade } from "../../src/eval/verdict.js";
import { relativizeDiff } from "../../src/eval/workspace.js";
import { emptyTokens, type TaskResult } from "../../src/executor/task.js";

function taskDir(root: string, id: string, files: Record<string, string>) {
  const dir = join(root, id);
  mkdirSync(join(dir, "app"), { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
}

describe("task set", () => {
  it("loads valid tasks and reports a bad one with path, line and field", async () => {
    const root = mkdtempSync(join(tmpdir(), "ocbox-ts-"));
    taskDir(root, "good", {
      "prompt.md": "Add a README.",
      "requirements.yaml": "- id: readme\n  description: README.md exists\n",
      "task.yaml": "timeoutS: 60\ncheck: test -f README.md\n",
    });
    taskDir(root, "bad", {
      "prompt.md": "x",
      "requirements.yaml": "- id: a\n  description: fine\n- id: b\n  description: ok\n  weight: -2\n",
    });
    taskDir(root, "typo", { "prompt.md": "x", "requirements.yaml": "- id: a\n  desc: oops\n" });
    mkdirSync(join(root, "not-a-task"));
    const set = await loadTaskSet(root);
    expect(set.tasks.map((t) => t.id)).toEqual(["good"]);
    expect(set.tasks[0]?.config.check).toEqual({ command: "test -f README.md", timeoutS: 300 });
    expect(set.tasks[0]?.requirements[0]?.weight).toBe(1);
    const bad = set.invalid.find((i) => i.id === "bad");
    expect(bad).toMatchObject({ field: "[1].weight" });
    expect(bad?.path).toMatch(/bad\/requirements\.yaml:5:\d+$/);
    expect(set.invalid.find((i) => i.id === "typo")?.path).toMatch(/requirements\.yaml:\d+:\d+$/);
  });

  it("refuses a task whose app/ is a symlink (item 12): an invalid task with the reason, the target untouched", async () => {
    const root = mkdtempSync(join(tmpdir(), "ocbox-ts-"));
    const outside = mkdtempSync(join(tmpdir(), "ocbox-ts-outside-"));
    writeFileSync(join(outside, "id_ed25519"), "secret\n");
    const dir = join(root, "linked");
    mkdirSync(dir);
    writeFileSync(join(dir, "prompt.md"), "x");
    writeFileSync(join(dir, "requirements.yaml"), "- id: a\n  description: fine\n");
    symlinkSync(outside, join(dir, "app"));
    const set = await loadTaskSet(root);
    expect(set.tasks).toEqual([]);
    expect(set.invalid).toEqual([
      {
        id: "linked",
        path: join(dir, "app"),
        field: "app",
        problem: `is a symbolic link (to ${outside}): make app/ a real folder inside the task folder`,
      },
    ]);
    expect(readdirSync(outside)).toEqual(["id_ed25519"]);
  });

  it("filters with globs", () => {
    const m = globMatcher("fix-*,add-?");
    expect(["fix-a", "add-b", "add-bb", "other"].filter(m)).toEqual(["fix-a", "add-b"]);
  });
});

const task = (id: string, digest = "d1") => ({ id, digest }) as TaskDef;

describe("journal and resume", () => {
  it("keeps finished units, reruns interrupted ones and tolerates a torn line", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "ocbox-j-")), "journal.jsonl");
    const j = new Journal(file);
    const at = "t";
    j.append({ type: "begin", at, unit: "a#1" });
    j.append({ type: "begin", at, unit: "b#1" });
    j.append({
      type: "end",
      at,
      unit: "a#1",
      digest: "d1",
      outcome: "COMPLETE",
      failureReason: null,
      infra: false,
    });
    j.append({ type: "begin", at, unit: "c#1" });
    j.append({
      type: "end",
      at,
      unit: "c#1",
      digest: "d1",
      outcome: "ERROR",
      failureReason: "INFRASTRUCTURE",
      infra: true,
    });
    j.close();
    writeFileSync(file, '{"type":"end","unit":"b#1"', { flag: "a" });
    const state = journalState(await readJournal(file));
    expect([...state.finished.keys()].sort()).toEqual(["a#1", "c#1"]);
    expect([...state.interrupted]).toEqual(["b#1"]);

    const plan = planUnits([task("a"), task("b"), task("c")], 1, state);
    expect(plan.kept.map((u) => u.key)).toEqual(["a#1", "c#1"]);
    expect(plan.todo.map((u) => u.key)).toEqual(["b#1"]);
    expect(plan.resumed).toEqual(["b#1"]);
    expect(planUnits([task("a"), task("c")], 1, state, { retryInfra: true }).todo.map((u) => u.key)).toEqual([
      "c#1",
    ]);
    expect(planUnits([task("a", "changed")], 2, state).todo.map((u) => u.dir)).toEqual([
      "tasks/a/r1",
      "tasks/a/r2",
    ]);
  });

  it("an interrupt entry leaves the unit to rerun", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "ocbox-j-")), "journal.jsonl");
    const j = new Journal(file);
    j.append({ type: "begin", at: "t", unit: "a#1" });
    j.append({ type: "interrupt", at: "t", unit: "a#1" });
    j.close();
    const state = journalState(await readJournal(file));
    expect(state.finished.size).toBe(0);
    expect([...state.interrupted]).toEqual(["a#1"]);
  });

  it("workers: an error starts nothing new, waits for the calls in flight, then throws", async () => {
    const log: string[] = [];
    const run = runWorkers([1, 2, 3, 4, 5], 2, async (n) => {
      log.push(`start ${n}`);
      if (n === 1) throw new Error("interrupted");
      await new Promise((r) => setTimeout(r, 20));
      log.push(`end ${n}`);
    });
    await expect(run).rejects.toThrow("interrupted");
    expect(log).toEqual(["start 1", "start 2", "end 2"]);
  });

  it("names every changed config field", () => {
    const base = {
      model: "a/b",
      tasksDir: "/t",
      repeat: 1,
      filter: null,
      role: null,
      timeoutS: null,
      limit: null,
      timeoutMultiplier: null,
      oracle: false,
      runtime: "default",
    };
    expect(configChanges(base, { ...base, model: "a/c", repeat: 2 })).toEqual([
      'model: "a/b" → "a/c"',
      "repeat: 1 → 2",
    ]);
    expect(configChanges(base, base)).toEqual([]);
    // Another runtime (the gVisor tier) changes results: a resume names it.
    expect(configChanges(base, { ...base, runtime: "runsc" })).toEqual(['runtime: "default" → "runsc"']);
  });
  it("reads a manifest written before the runtime was recorded as the engine's default", () => {
    const old = {
      kind: "ocbox-eval-run",
      config: { model: "a/b", tasksDir: "/t", repeat: 1, filter: null, role: null, timeoutS: null },
      ocbox: "0.1.0",
      opencode: "1",
      createdAt: "x",
      updatedAt: "x",
      tasks: {},
      invalid: [],
    };
    expect(parseManifest(JSON.stringify(old), "manifest.json").config.runtime).toBe("default");
  });
});

describe("verdicts and summary", () => {
  const reqs = [
    { id: "r1", description: "x", weight: 3 },
    { id: "r2", description: "y", weight: 1 },
  ];
  it("missing ids count as failed, unknown ids are dropped, scores are weighted", () => {
    const g = grade(reqs, [
      { id: "r1", score: 1, passed: true, reason: "ok", evidence: ["a.ts:1"] },
      { id: "zz", score: 1, passed: true, reason: "made up" },
    ]);
    expect(g.score).toBeCloseTo(0.75);
    expect(g.passRate).toBeCloseTo(0.75);
    expect(g.missing).toBe(1);
    expect(g.unknown).toEqual(["zz"]);
    expect(g.requirements[1]).toMatchObject({ id: "r2", passed: false, score: 0, missing: true });
  });

  const result = (over: Partial<TaskResult> = {}): TaskResult => ({
    outcome: "COMPLETE",
    contract: null,
    failureReason: null,
    failureKind: null,
    hint: null,
    attempts: 1,
    recoveredBy: null,
    sessionId: null,
    model: null,
    tokens: { ...emptyTokens(), input: 10, output: 5 },
    cost: 0.01,
    timings: { queued: 0, sandbox: 1, firstRequest: null, agent: 2, total: 4 },
    sandbox: "cold",
    pool: null,
    rawOutput: null,
    role: null,
    ...over,
  });
  const unit = (
    taskId: string,
    repeat: number,
    score: number | null,
    over: Partial<TaskResult> = {},
    infra = false,
  ): UnitView => ({
    record: {
      key: `${taskId}#${repeat}`,
      task: taskId,
      repeat,
      taskDigest: "d",
      prompt: "p",
      requirements: reqs,
      check: null,
      infra,
      diffBytes: 0,
      finishedAt: "t",
    },
    result: result(over),
    grade: score === null ? undefined : { requirements: [], score, passRate: score, missing: 0, unknown: [] },
  });

  it("reports mean and spread across repeats and counts infra failures apart", () => {
    const s = summarise(
      [
        unit("a", 1, 1),
        unit("a", 2, 0.5),
        unit("b", 1, null, { outcome: "ERROR", failureReason: "TIMEOUT" }),
        unit("c", 1, null, { outcome: "ERROR", failureReason: "INFRASTRUCTURE" }, true),
      ],
      [{ id: "bad", path: "p", field: "f", problem: "x" }],
      "j/m",
    );
    expect(s.tasks[0]?.score).toMatchObject({ n: 2, mean: 0.75, spread: 0.25 });
    expect(s.totals).toMatchObject({
      units: 4,
      completed: 2,
      agentFailed: 1,
      infraFailed: 1,
      invalidTasks: 1,
      judged: 2,
    });
    expect(s.totals.failures).toEqual({ TIMEOUT: 1, INFRASTRUCTURE: 1 });
    expect(s.totals.tokens.input).toBe(40);
    expect(s.totals.cost).toBeCloseTo(0.04);
  });

  it("keeps a Harbor task's [metadata] in the manifest and summary.json (none for an empty one)", () => {
    const policy = { mode: "no-network" as const, allowedHosts: [] };
    const harbor = (metadata: Record<string, unknown>) => ({
      network: { agent: policy, verifier: policy },
      toml: { verifier: harborVerifierSchema.parse({}), metadata },
    });
    const meta = { difficulty: "easy", tags: ["tool"] };
    const entry = manifestTask({ digest: "d", harbor: harbor(meta) });
    expect(entry).toMatchObject({ digest: "d", metadata: meta, verifierMode: "shared" });
    expect(manifestTask({ digest: "d", harbor: harbor({}) })).not.toHaveProperty("metadata");
    const s = summarise([unit("a", 1, 1)], [], null, new Date(), { a: entry });
    expect(s.tasks[0]?.metadata).toEqual(meta);
  });
});

describe("logs, progress, report", () => {
  it("describes tool calls, errors and lifecycle of the watched session only", () => {
    const tool = {
      type: "message.part.updated",
      properties: {
        part: {
          sessionID: "s1",
          type: "tool",
          tool: "write",
          state: { status: "completed", title: "a.txt" },
        },
      },
    };
    expect(describeEvent(tool, "s1")).toBe("tool write completed: a.txt");
    expect(describeEvent(tool, "s2")).toBeUndefined();
    expect(
      describeEvent(
        {
          type: "session.error",
          properties: { sessionID: "s1", error: { name: "APIError", data: { message: "502" } } },
        },
        "s1",
      ),
    ).toBe("session error: APIError: 502");
  });

  it("logging: --verbose implies agent logs and DEBUG; variables are honoured", () => {
    expect(loggingSettings({ verbose: true }, {})).toMatchObject({
      agentLogs: true,
      serverLogLevel: "DEBUG",
      printServerLogs: true,
    });
    expect(
      loggingSettings({}, { OCBOX_SERVER_LOG_LEVEL: "warn", OCBOX_EXTRA_ENV_PREFIXES: "MY_, X_" }),
    ).toMatchObject({
      agentLogs: false,
      serverLogLevel: "WARN",
      printServerLogs: false,
      extraEnvPrefixes: ["MY_", "X_"],
    });
    expect(
      loggingSettings({ agentLogs: true }, { OCBOX_STREAM_CONTAINER_LOGS: "0" }).streamContainerLogs,
    ).toBe(false);
  });

  it("progress gives an ETA from finished units", () => {
    let now = 0;
    const p = new Progress(4, 2, () => now);
    p.start("a");
    p.start("b");
    now = 10_000;
    p.end("a", true, false);
    p.phase("b", "prompt");
    expect(p.etaS()).toBeCloseTo(15);
    expect(p.line()).toContain("1/4 done, 1 running, 0 failed");
    expect(p.runningLines()).toEqual(["  b: prompt (10 s)"]);
  });

  it("diff paths are relative and the report escapes what it shows", () => {
    expect(relativizeDiff("diff --git a/tmp/x/app/f b/tmp/y/ws/f", "/tmp/x/app", "/tmp/y/ws")).toBe(
      "diff --git a/f b/f",
    );
    const html = renderReport({
      title: "run",
      model: "m/x",
      summary: summarise([], [], null),
      units: [
        {
          key: "t#1",
          task: "t",
          repeat: 1,
          outcome: "COMPLETE",
          failureReason: null,
          infra: false,
          checkExit: 0,
          seconds: 1,
          tokens: 3,
          cost: 0,
          grade: null,
          judgeError: null,
          diff: "+<script>",
          timeline: [],
          invalid: [],
        },
      ],
    });
    expect(html).toContain("&lt;script&gt;");
    expect(html).not.toContain("<script>");
    expect(html).not.toMatch(/(src|href)="https?:/);
  });
});

describe("the eval runner's warm pool size", () => {
  it("is one per worker, plus one while a core is spare, never more than the units", () => {
    expect(warmPoolSize(1, 8, 2)).toBe(2);
    expect(warmPoolSize(2, 8, 2)).toBe(2);
    expect(warmPoolSize(4, 8, 2)).toBe(4);
    expect(warmPoolSize(4, 8, 8)).toBe(5);
    expect(warmPoolSize(3, 1, 8)).toBe(1);
    expect(warmPoolSize(1, 0, 2)).toBe(0);
  });

  it("starts at most one sandbox per core at once, and at least one", () => {
    expect(warmPoolMaxStarting(2)).toBe(2);
    expect(warmPoolMaxStarting(8)).toBe(8);
    expect(warmPoolMaxStarting(0)).toBe(1);
  });
});
