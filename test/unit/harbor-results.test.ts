/**
 * Issue 15 item 6 on a hand-written output folder (test/fixtures/harbor-results): rewards and
 * pass@k in summary.json, Harbor's trial and job result.json beside ocbox's, the report's rewards
 * beside judge scores, and unit.json's verifier record checked when it is read back.
 */
import { cp, lstat, mkdtemp, readFile, readlink, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { trialName } from "../../src/eval/harbor-result.js";
import { jobResultSchema, trialResultSchema } from "../../src/eval/harbor-result-schema.js";
import { checkUnitFiles } from "../../src/eval/result-check.js";
import { writeReport } from "../../src/eval/report-file.js";
import { writeSummary } from "../../src/eval/summary-file.js";
import { grade, gradedRequirements, judgePrompt } from "../../src/eval/verdict.js";

const FIXTURE = join(import.meta.dirname, "..", "fixtures", "harbor-results");
let out = "";

beforeEach(async () => {
  out = await mkdtemp(join(tmpdir(), "ocbox-harbor-results-"));
  await cp(FIXTURE, out, { recursive: true });
});
afterEach(async () => {
  await rm(out, { recursive: true, force: true });
});

const readJson = async (f: string): Promise<Record<string, unknown>> =>
  JSON.parse(await readFile(f, "utf8")) as Record<string, unknown>;

describe("summary.json rewards", () => {
  it("per task: reward {n, mean, sample spread, min, max}, named metrics, pass@k, runs with no reward; infra apart", async () => {
    const s = await writeSummary(out);
    const hello = s.tasks.find((t) => t.id === "hello-tool");
    expect(hello?.rewards?.reward).toMatchObject({ n: 3, min: 0, max: 1 });
    expect(hello?.rewards?.reward?.mean).toBeCloseTo(2 / 3, 12);
    expect(hello?.rewards?.reward?.spread).toBeCloseTo(Math.sqrt(1 / 3), 12);
    expect(hello?.rewards?.passAtK).toEqual({ "pass@1": 2 / 3, "pass@2": 1, "pass@3": 1 });
    expect(hello?.score).toMatchObject({ n: 1, mean: 0.8 });
    const metrics = s.tasks.find((t) => t.id === "metrics");
    expect(metrics?.infraFailed).toBe(1);
    expect(metrics?.rewards?.reward).toMatchObject({ n: 3, min: 0, max: 1 });
    expect(metrics?.rewards?.reward?.mean).toBeCloseTo(1 / 3);
    expect(metrics?.rewards?.noReward).toBe(1);
    expect(metrics?.rewards?.metrics.style).toMatchObject({ n: 3, mean: 0.5, min: 0, max: 1 });
    expect(metrics?.rewards?.passAtKByMetric.style?.["pass@1"]).toBeCloseTo(1 / 3);
    expect(metrics?.network?.agent).toEqual({ mode: "allowlist", allowedHosts: ["*.pypi.org"] });
  });

  it("overall: every verified run, pass@k averaged over tasks, public network named", async () => {
    const s = await writeSummary(out);
    expect(s.totals.rewards?.reward).toMatchObject({ n: 6, mean: 0.5, min: 0, max: 1 });
    expect(s.totals.rewards?.passAtK["pass@1"]).toBeCloseTo(0.5);
    expect(s.totals.rewards?.passAtK["pass@3"]).toBe(1);
    expect(s.totals.rewards?.tasksAtK).toEqual({ "pass@1": 2, "pass@2": 2, "pass@3": 2 });
    expect(s.totals.publicNetwork).toEqual(["hello-tool: agent"]);
    const onDisk = await readJson(join(out, "summary.json"));
    expect(onDisk).toHaveProperty("totals.rewards.reward.spread");
  });
});

describe("Harbor's result.json beside ocbox's", () => {
  it("one trial folder per verified unit with Harbor's TrialResult fields; ocbox's result.json untouched", async () => {
    await writeSummary(out);
    const trial = await readJson(join(out, "harbor", "hello-tool__r1", "result.json"));
    expect(trial).toMatchObject({
      task_name: "hello-tool",
      trial_name: "hello-tool__r1",
      trial_uri: `file://${join(out, "harbor", "hello-tool__r1")}`,
      task_id: { path: "/fixture/harbor-tasks/hello-tool" },
      task_checksum: "sha-hello-tool",
      config: { task: { path: "/fixture/harbor-tasks/hello-tool" }, trial_name: "hello-tool__r1" },
      agent_info: {
        name: "opencode",
        version: "1.18.33",
        model_info: { name: "scripted", provider: "scripted" },
      },
      agent_result: { n_input_tokens: 150, n_cache_tokens: 50, n_output_tokens: 25, cost_usd: 0.01 },
      verifier_result: { rewards: { reward: 1 } },
      exception_info: null,
      finished_at: "2026-12-01T10:01:00.000Z",
    });
    expect(trial.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-a[0-9a-f]{3}-[0-9a-f]{12}$/);
    const spans = ["environment_setup", "agent_setup", "agent_execution", "verifier"].map(
      (k) => trial[k] as { started_at: string; finished_at: string },
    );
    expect(spans.at(-1)?.finished_at).toBe("2026-12-01T10:01:00.000Z");
    expect(Date.parse(spans[2]?.finished_at ?? "") - Date.parse(spans[2]?.started_at ?? "")).toBe(25_000);
    expect((await readJson(join(out, "harbor", "hello-tool__r1", "config.json"))).agent).toMatchObject({
      name: "opencode",
      model_name: "scripted/scripted",
    });
    const link = join(out, "harbor", "hello-tool__r1", "verifier");
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
    expect(await readlink(link)).toBe("../../tasks/hello-tool/r1/logs/verifier");
    expect(await readFile(join(link, "test-stdout.txt"), "utf8")).toBe("1 passed\n");
    expect((await readJson(join(out, "tasks", "hello-tool", "r1", "result.json"))).outcome).toBe("COMPLETE");
  });

  it("timeouts and missing rewards become Harbor's exception types; an infra unit with no verifier has no trial", async () => {
    await writeSummary(out);
    const timeout = await readJson(join(out, "harbor", "metrics__r2", "result.json"));
    expect(timeout).toMatchObject({
      verifier_result: { rewards: { reward: 0, style: 1 } },
      exception_info: { exception_type: "AgentTimeoutError" },
    });
    const none = await readJson(join(out, "harbor", "metrics__r3", "result.json"));
    expect(none).toMatchObject({
      verifier_result: null,
      exception_info: { exception_type: "RewardFileNotFoundError" },
    });
    await expect(lstat(join(out, "harbor", "metrics__r4"))).rejects.toThrow(/ENOENT/);
  });

  it("the job's result.json has Harbor's JobStats per agent, model and dataset", async () => {
    await writeSummary(out);
    const job = await readJson(join(out, "harbor", "result.json"));
    expect(job).toMatchObject({ n_total_trials: 6, started_at: "2026-12-01T10:00:00.000Z" });
    const stats = job.stats as { n_errored_trials: number; evals: Record<string, Record<string, unknown>> };
    expect(stats.n_errored_trials).toBe(2);
    const group = stats.evals["opencode__scripted__adhoc"];
    expect(group).toMatchObject({
      n_trials: 5,
      n_errors: 2,
      metrics: [{ mean: 0.5 }],
      exception_stats: { AgentTimeoutError: ["metrics__r2"], RewardFileNotFoundError: ["metrics__r3"] },
    });
    expect((group?.reward_stats as Record<string, Record<string, string[]>>).reward?.["1"]).toEqual([
      "hello-tool__r1",
      "hello-tool__r3",
      "metrics__r1",
    ]);
    expect((group?.pass_at_k as Record<string, number>)["1"]).toBeCloseTo(0.5);
  });

  it("every file under harbor/ parses as Harbor's TrialResult / JobResult (harbor-result-schema.ts)", async () => {
    await writeSummary(out);
    const job = jobResultSchema.safeParse(await readJson(join(out, "harbor", "result.json")));
    expect(job.error?.issues ?? []).toEqual([]);
    const names = [
      "hello-tool__r1",
      "hello-tool__r2",
      "hello-tool__r3",
      "metrics__r1",
      "metrics__r2",
      "metrics__r3",
    ];
    for (const name of names) {
      const trial = trialResultSchema.safeParse(await readJson(join(out, "harbor", name, "result.json")));
      expect(trial.error?.issues ?? [], name).toEqual([]);
    }
  });

  it("the schema refuses what Harbor would: a missing required key, a misspelt one, a fractional token count", async () => {
    await writeSummary(out);
    const trial = await readJson(join(out, "harbor", "hello-tool__r1", "result.json"));
    const { task_checksum: _gone, ...missing } = trial;
    expect(trialResultSchema.safeParse(missing).success).toBe(false);
    expect(trialResultSchema.safeParse({ ...trial, agent_results: {} }).success).toBe(false);
    const agent = trial.agent_result as Record<string, unknown>;
    expect(
      trialResultSchema.safeParse({ ...trial, agent_result: { ...agent, n_input_tokens: 1.5 } }).success,
    ).toBe(false);
    expect(trialResultSchema.safeParse({ ...trial, started_at: "yesterday" }).success).toBe(false);
  });

  it("a unit's exported session is linked into its trial folder and named in agent_result.metadata", async () => {
    await writeSummary(out);
    const dir = join(out, "harbor", "hello-tool__r1");
    const trial = await readJson(join(dir, "result.json"));
    expect(trial).toMatchObject({
      agent_result: { metadata: { session: "session.json", sessionMessages: 2 } },
    });
    expect(await readlink(join(dir, "session.json"))).toBe("../../tasks/hello-tool/r1/session.json");
    const session = await readJson(join(dir, "session.json"));
    expect((session.messages as unknown[]).length).toBe(2);
    // A unit without a session reference (an older one) gets neither.
    const older = await readJson(join(out, "harbor", "hello-tool__r2", "result.json"));
    expect((older.agent_result as { metadata: Record<string, unknown> }).metadata).not.toHaveProperty(
      "session",
    );
    await expect(lstat(join(out, "harbor", "hello-tool__r2", "session.json"))).rejects.toThrow(/ENOENT/);
  });

  it("summary.json and harbor/ made twice from the same records are byte for byte the same", async () => {
    await writeSummary(out);
    const files = async () => {
      const names = [
        "summary.json",
        "harbor/result.json",
        "harbor/metrics__r2/result.json",
        "harbor/hello-tool__r1/config.json",
      ];
      return Promise.all(names.map((n) => readFile(join(out, n), "utf8")));
    };
    const first = await files();
    await rm(join(out, "summary.json"));
    await rm(join(out, "harbor"), { recursive: true });
    await writeSummary(out);
    expect(await files()).toEqual(first);
    expect(JSON.parse(first[0] ?? "{}")).toMatchObject({ generatedAt: "2026-12-01T11:00:00.000Z" }); // the newest record: a verdict;
  });

  it("trial names keep the whole task id (two ids may share their first 32 characters)", () => {
    const a = trialName(`${"x".repeat(32)}-alpha`, 1);
    expect(a).not.toBe(trialName(`${"x".repeat(32)}-beta`, 1));
    expect(a).toBe(`${"x".repeat(32)}-alpha__r1`);
  });

  it("a run with no Harbor task writes no harbor/ folder (and removes a stale one)", async () => {
    for (const d of [
      "hello-tool/r1",
      "hello-tool/r2",
      "hello-tool/r3",
      "metrics/r1",
      "metrics/r2",
      "metrics/r3",
    ]) {
      const f = join(out, "tasks", d, "unit.json");
      const rec = await readJson(f);
      delete rec.verifier;
      await writeFile(f, JSON.stringify(rec));
    }
    await writeFile(join(out, "harbor"), "stale");
    await writeSummary(out);
    await expect(lstat(join(out, "harbor"))).rejects.toThrow(/ENOENT/);
  });
});

describe("report and read-back", () => {
  it("the report shows rewards beside judge scores, pass@k, the public network, and --compare puts rewards side by side", async () => {
    await writeSummary(out);
    const html = await readFile(await writeReport(out, { compare: out, out: join(out, "r.html") }), "utf8");
    expect(html).toContain("<th>reward</th><th>judge score</th>");
    expect(html).toMatch(/<td class="reward">1<\/td><td>80%<\/td>/);
    expect(html).toContain('id="mean-reward">0.500</strong>');
    expect(html).toContain("pass@1 50%");
    expect(html).toContain("Public network: hello-tool: agent");
    expect(html).toContain('<td class="reward">0.67 ± 0.58 (n=3), pass@1 67%</td>');
    expect(html).toContain("<th>Δ reward</th>");
    expect(html).toContain("the verifier wrote neither /logs/verifier/reward.txt nor reward.json");
  });

  it("a damaged verifier record is replaced by no reward and named, never summed", () => {
    const checked = checkUnitFiles(
      { key: "t#1", task: "t", repeat: 1, infra: false, check: null, verifier: { reward: "1", rewards: {} } },
      {},
    );
    expect(checked.record.verifier).toMatchObject({
      reward: null,
      problem: "unit.json's verifier record was damaged",
    });
    expect(checked.invalid.some((i) => i.startsWith("unit.json verifier:"))).toBe(true);
    const fine = checkUnitFiles({ key: "t#1", task: "t", repeat: 1, infra: false, check: null }, {});
    expect(fine.record.verifier).toBeUndefined();
  });
});

describe("the judge on a Harbor task's output", () => {
  it("grades the instruction as one requirement when the task has no requirements.yaml", () => {
    const reqs = gradedRequirements([]);
    expect(reqs.map((r) => r.id)).toEqual(["instruction"]);
    const prompt = judgePrompt({ prompt: "Write hello.txt.", requirements: reqs });
    expect(prompt).toContain("Write hello.txt.");
    expect(prompt).toContain("- id: instruction");
    const g = grade(reqs, [{ id: "instruction", score: 1, passed: true, reason: "ok", evidence: [] }]);
    expect(g).toMatchObject({ score: 1, passRate: 1 });
    const own = [{ id: "a", description: "A holds.", weight: 2 }];
    expect(gradedRequirements(own)).toEqual(own);
  });
});
