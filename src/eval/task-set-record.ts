/**
 * The task sets whose Harbor tasks made or used task images on this machine, kept in the state
 * dir (`$XDG_STATE_HOME/ocbox/eval/task-sets.json`, 0600) so that `ocbox eval prune` knows which
 * task sets to ask "do you still use this image?". An image's own label names only the task set
 * that built it; another task set with the same environment shares the image, and is found here.
 * The record holds folder paths and times only; a folder that is gone counts as no user.
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { stateHome } from "../util/paths.js";
import { parseVersioned, readJsonFile } from "../util/versioned-file.js";
import { replaceFile } from "../util/replace-file.js";

const VERSION = 1;
const recordSchema = z.object({
  kind: z.literal("ocbox-task-sets"),
  version: z.literal(VERSION),
  /** Task set folder (absolute) → when a run or `eval tasks --build` last used it (ISO time). */
  taskSets: z.record(z.string().min(1), z.string()),
});
type TaskSetRecord = z.infer<typeof recordSchema>;

export function taskSetRecordFile(env: NodeJS.ProcessEnv = process.env): string {
  return join(stateHome(env), "eval", "task-sets.json");
}

const FIX =
  "Delete it: it is rebuilt as task sets are used (prune then keeps only images of task sets named with --tasks or on the image's label).";

async function readRecord(env: NodeJS.ProcessEnv): Promise<TaskSetRecord> {
  const file = taskSetRecordFile(env);
  const raw = await readJsonFile(file, "task set record", FIX);
  if (raw === undefined) return { kind: "ocbox-task-sets", version: VERSION, taskSets: {} };
  return parseVersioned(recordSchema, raw, {
    where: file,
    what: "task set record",
    current: VERSION,
    fix: FIX,
  });
}

/** The recorded task set folders; none when there is no record yet. */
export async function readTaskSets(env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  return Object.keys((await readRecord(env)).taskSets).sort();
}

/** Add task set folders (absolute) to the record, written whole through a rename. */
export async function recordTaskSets(
  dirs: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
  now: Date = new Date(),
): Promise<void> {
  const file = taskSetRecordFile(env);
  const record = await readRecord(env);
  for (const d of dirs) record.taskSets[d] = now.toISOString();
  await mkdir(join(stateHome(env), "eval"), { recursive: true, mode: 0o700 });
  await replaceFile(file, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
}
