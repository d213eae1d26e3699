/**
 * The rewards part of `summary.json` (issue 15 item 6): per task and overall, the verifier's
 * reward as `{n, mean, spread (sample standard deviation), min, max}`, each named metric of
 * `reward.json` the same way, and pass@k over `--repeat` (a run passes when its reward is 1, or,
 * per metric, when that metric is 1). A run whose verifier left no reward counts as 0, as in
 * Harbor's mean; infrastructure failures are left out, as everywhere in the summary. Pure.
 */
import { passAtKs, rewardStats, type RewardStats } from "./pass-at-k.js";
import type { VerifierOutcome } from "./unit-record.js";

export interface RewardSummary {
  /** The run's reward (`reward.txt`, or `reward.json`'s `reward` or only key). */
  reward: RewardStats | null;
  /** Each named metric of `reward.json` (a run without it counts 0). */
  metrics: Record<string, RewardStats>;
  /** `pass@1` … `pass@n`: the unbiased estimator from n runs with c passes (reward = 1). */
  passAtK: Record<string, number>;
  /** The same per named metric (that metric = 1). */
  passAtKByMetric: Record<string, Record<string, number>>;
  /** Runs whose verifier left no reward (a missing or malformed file, a timeout): counted as 0. */
  noReward: number;
}

/** Rewards of one task's runs (infrastructure failures already left out); null without any. */
export function taskRewards(runs: readonly VerifierOutcome[]): RewardSummary | null {
  if (runs.length === 0) return null;
  const values = runs.map((r) => r.reward ?? 0);
  const names = [...new Set(runs.flatMap((r) => Object.keys(r.rewards)))].sort();
  const metrics: Record<string, RewardStats> = {};
  const passAtKByMetric: Record<string, Record<string, number>> = {};
  for (const name of names) {
    const v = runs.map((r) => r.rewards[name] ?? 0);
    const s = rewardStats(v);
    if (s) metrics[name] = s;
    passAtKByMetric[name] = passAtKs(v);
  }
  return {
    reward: rewardStats(values),
    metrics,
    passAtK: passAtKs(values),
    passAtKByMetric,
    noReward: runs.filter((r) => r.reward === null).length,
  };
}

export interface OverallRewards {
  /** Over every run with a verifier. */
  reward: RewardStats | null;
  /** Tasks with a verifier. */
  tasks: number;
  /**
   * pass@k averaged over the tasks with at least k runs (the usual benchmark figure);
   * `tasksAtK` says how many tasks each k averages.
   */
  passAtK: Record<string, number>;
  tasksAtK: Record<string, number>;
  noReward: number;
}

export function overallRewards(
  perTask: readonly (RewardSummary | null)[],
  runs: readonly VerifierOutcome[],
): OverallRewards {
  const tasks = perTask.filter((t): t is RewardSummary => t !== null);
  const passAtK: Record<string, number> = {};
  const tasksAtK: Record<string, number> = {};
  const ks = [...new Set(tasks.flatMap((t) => Object.keys(t.passAtK)))].sort(
    (a, b) => Number(a.slice(5)) - Number(b.slice(5)),
  );
  for (const k of ks) {
    const at = tasks.flatMap((t) => (t.passAtK[k] === undefined ? [] : [t.passAtK[k]]));
    passAtK[k] = at.reduce((a, b) => a + b, 0) / at.length;
    tasksAtK[k] = at.length;
  }
  return {
    reward: rewardStats(runs.map((r) => r.reward ?? 0)),
    tasks: tasks.length,
    passAtK,
    tasksAtK,
    noReward: runs.filter((r) => r.reward === null).length,
  };
}
