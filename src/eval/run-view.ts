/**
 * An output dir read back: the manifest, and every finished unit (per the journal) with its
 * records and, once judged, its verdict. Summaries and the report are made from this.
 */
import { join } from "node:path";
import { OcboxError } from "../errors.js";
import { readJsonFile } from "../util/versioned-file.js";
import { journalState, readJournal } from "./journal.js";
import { readManifest, type Manifest } from "./manifest.js";
import { checkJudgeFile, checkUnitFiles, type CheckedUnit } from "./result-check.js";
import type { UnitView } from "./summary.js";
import { unitDir } from "./units.js";
import type { JudgeRecord } from "./verdict.js";

export interface LoadedUnit extends UnitView {
  dir: string;
  judge: JudgeRecord | undefined;
  /** Fields of its records that had the wrong type and were replaced (result-check.ts). */
  invalid: string[];
}

export interface LoadedRun {
  dir: string;
  manifest: Manifest;
  units: LoadedUnit[];
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

export async function readJudgeRecord(
  dir: string,
): Promise<{ judge: JudgeRecord; invalid: string[] } | undefined> {
  const file = join(dir, "judge.json");
  const fix = `Delete ${file} and run \`ocbox eval judge\` again: that unit is judged afresh.`;
  const value = await readJsonFile(file, "judge record", fix);
  return value === undefined ? undefined : checkJudgeFile(value);
}

export async function loadRun(dir: string): Promise<LoadedRun> {
  const manifest = await readManifest(dir);
  if (!manifest)
    throw new OcboxError("USAGE", `${dir} holds no eval run (no manifest.json)`, {
      fix: "Give the --output folder of an `ocbox eval run`.",
    });
  const state = journalState(await readJournal(join(dir, "journal.jsonl")));
  const units: LoadedUnit[] = [];
  for (const key of [...state.finished.keys()].sort()) {
    const [task = "", repeat = "1"] = key.split("#");
    const udir = join(dir, unitDir(task, Number(repeat)));
    const loaded = await readUnit(udir);
    if (!loaded) continue;
    const judged = await readJudgeRecord(udir);
    const judge = judged?.judge;
    const invalid = [...loaded.invalid, ...(judged?.invalid ?? [])];
    units.push({ ...loaded, invalid, dir: udir, judge, grade: judge?.grade ?? undefined });
  }
  return { dir, manifest, units };
}

/**
 * When the run's records last changed: the newest of the manifest's `updatedAt`, the units'
 * `finishedAt` and the verdicts' `judgedAt`. The files made from the records (summary.json,
 * harbor/) carry this time, so making them again from the same records gives the same bytes.
 */
export function runUpdatedAt(run: LoadedRun): Date {
  const times = [
    run.manifest.updatedAt,
    ...run.units.flatMap((u) => [u.record.finishedAt, u.judge?.judgedAt]),
  ]
    .map((t) => (typeof t === "string" ? Date.parse(t) : Number.NaN))
    .filter((t) => Number.isFinite(t));
  return new Date(times.length ? Math.max(...times) : 0);
}
