import { describe, expect, it } from "vitest";
import { passAtK, passAtKs, rewardStats } from "../../src/eval/pass-at-k.js";
import { MAX_REWARD_BYTES, parseReward } from "../../src/eval/reward.js";

const b = (s: string) => Buffer.from(s);

describe("verifier rewards", () => {
  it("reads reward.txt as one number and reward.json as named numbers (json wins)", () => {
    expect(parseReward({ txt: b("1\n") })).toEqual({
      ok: true,
      reward: 1,
      rewards: { reward: 1 },
      source: "reward.txt",
    });
    expect(parseReward({ txt: b(" 0.25 ") })).toMatchObject({ reward: 0.25 });
    expect(parseReward({ json: b('{"exact": 1, "exists": true}'), txt: b("0") })).toEqual({
      ok: true,
      reward: null,
      rewards: { exact: 1, exists: 1 },
      source: "reward.json",
    });
    expect(parseReward({ json: b('{"reward": 0.5, "style": 1}') })).toMatchObject({ reward: 0.5 });
    expect(parseReward({ json: b('{"accuracy": 0.75}') })).toMatchObject({ reward: 0.75 });
  });

  it("refuses what is not a reward: text, NaN, nested values, a huge file, nothing", () => {
    expect(parseReward({ txt: b("passed") })).toEqual({
      ok: false,
      problem: 'reward.txt holds "passed", not one number',
    });
    expect(parseReward({ txt: b("NaN") }).ok).toBe(false);
    expect(parseReward({ txt: b("1\n2\n") }).ok).toBe(false);
    expect(parseReward({ json: b("[1]") }).ok).toBe(false);
    expect(parseReward({ json: b('{"a": {"b": 1}}') })).toEqual({
      ok: false,
      problem: 'reward.json: "a" is not a number',
    });
    expect(parseReward({ json: b("{}") }).ok).toBe(false);
    expect(parseReward({ json: b("{") }).ok).toBe(false);
    expect(parseReward({ txt: Buffer.alloc(MAX_REWARD_BYTES + 1, 0x31) }).ok).toBe(false);
    expect(parseReward({})).toEqual({
      ok: false,
      problem: "the verifier wrote neither /logs/verifier/reward.txt nor reward.json",
    });
  });
});

describe("reward statistics and pass@k", () => {
  it("gives n, mean, the sample standard deviation, min and max", () => {
    expect(rewardStats([])).toBeNull();
    expect(rewardStats([1])).toEqual({ n: 1, mean: 1, spread: 0, min: 1, max: 1 });
    const s = rewardStats([1, 0, 1, 0]);
    expect(s?.mean).toBe(0.5);
    expect(s?.spread).toBeCloseTo(Math.sqrt(1 / 3), 12);
  });

  it("is the unbiased estimator 1 − C(n−c, k)/C(n, k)", () => {
    expect(passAtK(5, 2, 1)).toBeCloseTo(0.4, 12);
    expect(passAtK(5, 2, 2)).toBeCloseTo(1 - 3 / 10, 12);
    expect(passAtK(5, 2, 4)).toBe(1);
    expect(passAtK(5, 0, 3)).toBe(0);
    expect(passAtK(3, 3, 1)).toBe(1);
    expect(passAtK(3, 1, 4)).toBeUndefined();
    expect(passAtK(200, 13, 10)).toBeCloseTo(1 - binomRatio(187, 200, 10), 10);
    expect(() => passAtK(3, 4, 1)).toThrow(RangeError);
    const ks = passAtKs([1, 0, 0.5]);
    expect(Object.keys(ks)).toEqual(["pass@1", "pass@2", "pass@3"]);
    expect(ks["pass@1"]).toBeCloseTo(1 / 3, 12);
    expect(ks["pass@2"]).toBeCloseTo(2 / 3, 12);
    expect(ks["pass@3"]).toBe(1);
  });
});

/** C(a, k) / C(n, k), the slow way. */
function binomRatio(a: number, n: number, k: number): number {
  let r = 1;
  for (let i = 0; i < k; i++) r *= (a - i) / (n - i);
  return r;
}
