/**
 * Benchmark statistics over `--repeat`: reward statistics with the sample standard deviation,
 * and pass@k by the unbiased estimator (from n runs with c passes, the chance that at least one
 * of k runs drawn without replacement passes: 1 − C(n−c, k) / C(n, k)). A run passes when its
 * reward is 1 (per named metric, when its value for that metric is 1). Pure.
 */

export interface RewardStats {
  n: number;
  mean: number;
  /** Sample standard deviation (n − 1); 0 for a single run. */
  spread: number;
  min: number;
  max: number;
}

export function rewardStats(values: readonly number[]): RewardStats | null {
  const n = values.length;
  if (n === 0) return null;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const spread = n < 2 ? 0 : Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
  return { n, mean, spread, min: Math.min(...values), max: Math.max(...values) };
}

/** The unbiased pass@k from n runs with c passes; undefined when k > n. */
export function passAtK(n: number, c: number, k: number): number | undefined {
  if (!Number.isInteger(n) || !Number.isInteger(c) || !Number.isInteger(k) || k < 1 || c < 0 || c > n)
    throw new RangeError(`pass@k needs whole numbers with 0 ≤ c ≤ n and k ≥ 1 (n=${n}, c=${c}, k=${k})`);
  if (k > n) return undefined;
  if (n - c < k) return 1;
  // C(n−c, k) / C(n, k) as a product, stable for large n.
  let fail = 1;
  for (let i = n - c + 1; i <= n; i++) fail *= 1 - k / i;
  return 1 - fail;
}

/** pass@k for every k from 1 to n, keyed `pass@k`. */
export function passAtKs(rewards: readonly number[]): Record<string, number> {
  const n = rewards.length;
  const c = rewards.filter((r) => r === 1).length;
  const out: Record<string, number> = {};
  for (let k = 1; k <= n; k++) out[`pass@${k}`] = passAtK(n, c, k) ?? 0;
  return out;
}
