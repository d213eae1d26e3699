/**
 * A Harbor verifier's reward, read from what `tests/test.sh` left in `/logs/verifier/`:
 * `reward.txt` (one number) or `reward.json` (an object of named numbers). Both come from inside
 * the task's container and are hostile input: size-capped, parsed strictly, numbers finite.
 * `reward.json` wins when both are there, as in Harbor. Pure.
 */

/** More than this in a reward file is not a reward. */
export const MAX_REWARD_BYTES = 64 * 1024;

export type RewardResult =
  | {
      ok: true;
      /** The run's reward: `reward.txt`'s number, or `reward.json`'s `reward` key, or its only key. */
      reward: number | null;
      rewards: Record<string, number>;
      source: "reward.txt" | "reward.json";
    }
  | { ok: false; problem: string };

const NUMBER = /^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/;

function fromText(text: string): RewardResult {
  const t = text.trim();
  if (!NUMBER.test(t))
    return { ok: false, problem: `reward.txt holds ${JSON.stringify(t.slice(0, 40))}, not one number` };
  const reward = Number(t);
  return { ok: true, reward, rewards: { reward }, source: "reward.txt" };
}

function fromJson(text: string): RewardResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { ok: false, problem: `reward.json is not JSON: ${(e as SyntaxError).message}` };
  }
  if (!value || typeof value !== "object" || Array.isArray(value))
    return { ok: false, problem: "reward.json is not an object of named numbers" };
  const rewards: Record<string, number> = {};
  for (const [name, v] of Object.entries(value)) {
    if (typeof v === "boolean") rewards[name] = v ? 1 : 0;
    else if (typeof v === "number" && Number.isFinite(v)) rewards[name] = v;
    else return { ok: false, problem: `reward.json: ${JSON.stringify(name.slice(0, 40))} is not a number` };
  }
  const names = Object.keys(rewards);
  if (!names.length) return { ok: false, problem: "reward.json names no reward" };
  const reward = rewards.reward ?? (names.length === 1 ? (rewards[names[0] as string] ?? null) : null);
  return { ok: true, reward, rewards, source: "reward.json" };
}

/** The reward from the files' bytes (undefined: the file is not there). */
export function parseReward(files: { txt?: Buffer | undefined; json?: Buffer | undefined }): RewardResult {
  const pick = files.json ?? files.txt;
  if (!pick)
    return { ok: false, problem: "the verifier wrote neither /logs/verifier/reward.txt nor reward.json" };
  if (pick.length > MAX_REWARD_BYTES)
    return { ok: false, problem: `the reward file is ${pick.length} bytes, over ${MAX_REWARD_BYTES}` };
  const text = pick.toString("utf8");
  return files.json ? fromJson(text) : fromText(text);
}
