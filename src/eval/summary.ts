/**
 * `summary.json`: per task and overall, the outcomes, the judge's weighted scores and pass rates
 * (with mean and spread across repeats), a Harbor task's verifier rewards and pass@k
 * (summary-rewards.ts), its network per phase, tokens, cost and time, infrastructure failures
 * apart. Pure.
 */
import { addTokens, emptyTokens, type TaskResult, type Tokens } from "../executor/task.js";
import type { ManifestTask } from "./manifest.js";
import { overallRewards, taskRewards, type OverallRewards, type RewardSummary } from "./summary-rewards.js";
import type { InvalidTask } from "./task-set.js";
import type { UnitRecord } from "./unit-record.js";
import type { Grade } from "./verdict.js";

export interface UnitView {
  record: UnitRecord;
  result: TaskResult;
  grade: Grade | undefined;
}

export interface Stats {
  n: number;
  mean: number;
  /** Population standard deviation (judge scores; rewards use the sample one, summary-rewards.ts). */
  spread: number;
  min: number;
  max: number;
}

export function stats(values: readonly number[]): Stats | null {
  if (values.length === 0) return null;
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const spread = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
  return { n: values.length, mean, spread, min: Math.min(...values), max: Math.max(...values) };
}

export interface TaskSummary {
  id: string;
  repeats: number;
  outcomes: Record<string, number>;
  infraFailed: number;
  score: Stats | null;
  passRate: Stats | null;
  checkPassed: number | null;
  /** Harbor tasks: the verifier's rewards and pass@k over the repeats (absent for ocbox tasks). */
  rewards?: RewardSummary;
  /** Harbor tasks: the network policy of each phase, from the manifest. */
  network?: NonNullable<ManifestTask["network"]>;
  /** Harbor tasks: `task.toml`'s `[metadata]`, from the manifest. */
  metadata?: NonNullable<ManifestTask["metadata"]>;
  tokens: Tokens;
  cost: number;
  seconds: Stats | null;
}

export interface Summary {
  kind: "ocbox-eval-summary";
  generatedAt: string;
  judgeModel: string | null;
  totals: {
    units: number;
    tasks: number;
    completed: number;
    agentFailed: number;
    infraFailed: number;
    invalidTasks: number;
    judged: number;
    score: Stats | null;
    passRate: Stats | null;
    failures: Record<string, number>;
    /** Over the Harbor tasks' runs; null without any. */
    rewards: OverallRewards | null;
    /** Tasks that ran with `network_mode = "public"` in a phase (`task: agent, verifier`). */
    publicNetwork: string[];
    tokens: Tokens;
    cost: number;
    agentSeconds: number;
  };
  tasks: TaskSummary[];
  invalid: InvalidTask[];
}

/** Runs that count for rewards: a verifier ran, and the failure was not infrastructure. */
const verified = (list: readonly UnitView[]) =>
  list.flatMap((u) => (u.record.verifier && !u.record.infra ? [u.record.verifier] : []));

function taskSummary(id: string, list: UnitView[], entry: ManifestTask | undefined): TaskSummary {
  const network = entry?.network;
  const outcomes: Record<string, number> = {};
  for (const u of list) {
    const k = u.result.failureReason ?? u.result.outcome;
    outcomes[k] = (outcomes[k] ?? 0) + 1;
  }
  const checks = list.filter((u) => u.record.check);
  const judged = list.filter((u) => u.grade && !u.record.infra);
  const rewards = taskRewards(verified(list));
  return {
    id,
    repeats: list.length,
    outcomes,
    infraFailed: list.filter((u) => u.record.infra).length,
    score: stats(judged.map((u) => u.grade?.score ?? 0)),
    passRate: stats(judged.map((u) => u.grade?.passRate ?? 0)),
    checkPassed: checks.length ? checks.filter((u) => u.record.check?.exitCode === 0).length : null,
    ...(rewards ? { rewards } : {}),
    ...(network ? { network } : {}),
    ...(entry?.metadata ? { metadata: entry.metadata } : {}),
    tokens: list.reduce((t, u) => addTokens(t, u.result.tokens), emptyTokens()),
    cost: list.reduce((c, u) => c + u.result.cost, 0),
    seconds: stats(list.map((u) => u.result.timings.total)),
  };
}

/** `networks`: the manifest's task entries (a Harbor task's network per phase). */
export function summarise(
  units: readonly UnitView[],
  invalid: readonly InvalidTask[],
  judgeModel: string | null,
  now = new Date(),
  networks: Readonly<Record<string, ManifestTask>> = {},
): Summary {
  const byTask = new Map<string, UnitView[]>();
  for (const u of units) byTask.set(u.record.task, [...(byTask.get(u.record.task) ?? []), u]);
  const tasks = [...byTask.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([id, list]) => taskSummary(id, list, networks[id]));
  const failures: Record<string, number> = {};
  for (const u of units) {
    if (u.result.failureReason)
      failures[u.result.failureReason] = (failures[u.result.failureReason] ?? 0) + 1;
  }
  const judged = units.filter((u) => u.grade && !u.record.infra);
  return {
    kind: "ocbox-eval-summary",
    generatedAt: now.toISOString(),
    judgeModel,
    totals: {
      units: units.length,
      tasks: tasks.length,
      completed: units.filter((u) => u.result.outcome === "COMPLETE").length,
      agentFailed: units.filter((u) => u.result.outcome !== "COMPLETE" && !u.record.infra).length,
      infraFailed: units.filter((u) => u.record.infra).length,
      invalidTasks: invalid.length,
      judged: judged.length,
      score: stats(judged.map((u) => u.grade?.score ?? 0)),
      passRate: stats(judged.map((u) => u.grade?.passRate ?? 0)),
      failures,
      rewards: tasks.some((t) => t.rewards)
        ? overallRewards(
            tasks.map((t) => t.rewards ?? null),
            verified(units),
          )
        : null,
      publicNetwork: Object.entries(networks)
        .filter(([id, t]) => t.network?.public.length && byTask.has(id))
        .map(([id, t]) => `${id}: ${t.network?.public.join(", ")}`)
        .sort(),
      tokens: units.reduce((t, u) => addTokens(t, u.result.tokens), emptyTokens()),
      cost: units.reduce((c, u) => c + u.result.cost, 0),
      agentSeconds: units.reduce((s, u) => s + u.result.timings.total, 0),
    },
    tasks,
    invalid: [...invalid],
  };
}
