/**
 * What a unit's folder holds besides the workspace: `unit.json` (the task's prompt and
 * requirements as run, the check's outcome, whether the failure was infrastructure), next to
 * `result.json` (the executor's TaskResult), `diff.patch` and `session.json`.
 */
import { join } from "node:path";
import type { TaskResult } from "../executor/task.js";
import { checkUnitFiles, type CheckedUnit } from "./result-check.js";
import { readJsonFile } from "../util/versioned-file.js";
import type { Requirement } from "./task-schema.js";

export interface CheckOutcome {
  command: string;
  exitCode: number;
  seconds: number;
  /** The last 4 kB of its output. */
  output: string;
}

export interface UnitRecord {
  key: string;
  task: string;
  repeat: number;
  taskDigest: string;
  prompt: string;
  requirements: Requirement[];
  check: CheckOutcome | null;
  /** Infrastructure failure (sandbox, network, auth, rate limit): counted apart, retryable. */
  infra: boolean;
  diffBytes: number;
  finishedAt: string;
}

/** Failure reasons that say nothing about the agent. */
export function isInfraFailure(result: Pick<TaskResult, "failureReason">): boolean {
  return result.failureReason === "INFRASTRUCTURE" || result.failureReason === "RATE_LIMIT";
}

/**
 * A finished unit's record and result, the fields the summary and report read checked
 * (result-check.ts); undefined when either file is missing (the unit did not finish). A damaged
 * one is an error naming the file, not a unit silently left out.
 */
export async function readUnit(dir: string): Promise<CheckedUnit | undefined> {
  const fix = `Rerun the unit: delete ${dir} and its \`end\` line in journal.jsonl, then run the same \`ocbox eval run\` again.`;
  const [record, result] = await Promise.all([
    readJsonFile(join(dir, "unit.json"), "unit record", fix),
    readJsonFile(join(dir, "result.json"), "unit result", fix),
  ]);
  if (record === undefined || result === undefined) return undefined;
  return checkUnitFiles(record, result);
}
