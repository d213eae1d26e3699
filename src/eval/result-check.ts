/**
 * The fields of a unit's records that the summary and the report read, checked with zod when an
 * output dir is read back. Their values came from the sandbox's server (tokens, cost, model ids)
 * or from a model (the judge's verdicts): a field of the wrong type is replaced by a neutral
 * value and named in `invalid`, so it can neither break the sums nor reach the HTML as markup.
 * Pure.
 */
import { z } from "zod";
import type { TaskResult } from "../executor/task.js";
import type { UnitRecord } from "./unit-record.js";
import { requirementVerdictSchema, type Grade, type JudgeRecord } from "./verdict.js";

const count = z.number().finite().nonnegative();
const text = z.string().max(10_000);

interface Field {
  path: readonly string[];
  schema: z.ZodType;
  fallback: unknown;
}

const f = (path: string, schema: z.ZodType, fallback: unknown): Field => ({
  path: path.split("."),
  schema,
  fallback,
});

const RESULT_FIELDS: readonly Field[] = [
  f("outcome", z.enum(["COMPLETE", "NEEDS_INFO", "ERROR"]), "ERROR"),
  f("failureReason", text.max(64).nullable(), null),
  f("tokens.input", count, 0),
  f("tokens.output", count, 0),
  f("tokens.reasoning", count, 0),
  f("tokens.cacheRead", count, 0),
  f("tokens.cacheWrite", count, 0),
  f("cost", count, 0),
  f("timings.total", count, 0),
  f("model", z.object({ providerID: text, modelID: text, endpoint: text.nullable() }).nullable(), null),
];

const reward = z.number().finite();

/**
 * A Harbor task's verifier outcome: its numbers came from a file the task's container wrote
 * (reward.ts parses them strictly; checked again here, since unit.json is read back).
 */
const verifierSchema = z
  .object({
    reward: reward.nullable(),
    rewards: z.record(text.max(200), reward),
    exitCode: z.number().int().nullable(),
    seconds: count,
    outputTail: text,
    problem: text.optional(),
  })
  .optional();

/** What a damaged verifier record becomes: no reward, and why. */
const BAD_VERIFIER = {
  reward: null,
  rewards: {},
  exitCode: null,
  seconds: 0,
  outputTail: "",
  problem: "unit.json's verifier record was damaged",
};

const RECORD_FIELDS: readonly Field[] = [
  f("key", text, "?"),
  f("task", text, "?"),
  f("repeat", z.number().int().positive(), 1),
  f("infra", z.boolean(), false),
  f("check", z.object({ exitCode: z.number().int() }).passthrough().nullable(), null),
  f("verifier", verifierSchema, BAD_VERIFIER),
  f(
    "session",
    z
      .object({ file: z.literal("session.json"), messages: count, truncated: z.literal(true).optional() })
      .optional(),
    undefined,
  ),
];

const gradeSchema = z.object({
  requirements: z.array(
    requirementVerdictSchema.extend({ weight: z.number().finite(), missing: z.boolean() }),
  ),
  score: z.number().finite(),
  passRate: z.number().finite(),
  missing: z.number(),
  unknown: z.array(z.string()),
});

const JUDGE_FIELDS: readonly Field[] = [
  f("model", text, "?"),
  f("error", text.nullable(), null),
  f("tokens", count, 0),
  f("cost", count, 0),
  f("grade", gradeSchema.nullable(), null),
];

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null;

/** A deep copy of `value` with each listed field checked; bad ones replaced and named. Pure. */
function checkFields(
  value: unknown,
  fields: readonly Field[],
  prefix: string,
): { value: unknown; invalid: string[] } {
  const out: Record<string, unknown> = isRecord(value) ? structuredClone(value) : {};
  const invalid: string[] = [];
  for (const field of fields) {
    const parents = field.path.slice(0, -1);
    const last = field.path.at(-1) ?? "";
    let holder: Record<string, unknown> = out;
    for (const p of parents) {
      const next = holder[p];
      holder = isRecord(next) ? next : (holder[p] = {});
    }
    const parsed = field.schema.safeParse(holder[last]);
    if (parsed.success) continue;
    invalid.push(`${prefix}${field.path.join(".")}: ${parsed.error.issues[0]?.message ?? "invalid"}`);
    holder[last] = field.fallback;
  }
  return { value: out, invalid };
}

export interface CheckedUnit {
  record: UnitRecord;
  result: TaskResult;
  /** `file field: problem` for each field that was replaced. */
  invalid: string[];
}

/** `unit.json` and `result.json` as parsed JSON → the checked pair. Pure. */
export function checkUnitFiles(record: unknown, result: unknown): CheckedUnit {
  const r = checkFields(record, RECORD_FIELDS, "unit.json ");
  const t = checkFields(result, RESULT_FIELDS, "result.json ");
  return {
    record: r.value as UnitRecord,
    result: t.value as TaskResult,
    invalid: [...r.invalid, ...t.invalid],
  };
}

/** `judge.json` as parsed JSON → the checked record. Pure. */
export function checkJudgeFile(judge: unknown): { judge: JudgeRecord; invalid: string[] } {
  const j = checkFields(judge, JUDGE_FIELDS, "judge.json ");
  return { judge: j.value as JudgeRecord & { grade: Grade | null }, invalid: j.invalid };
}
