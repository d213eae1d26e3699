/**
 * Write `OUT/harbor/` (harbor-result.ts): Harbor's job `result.json` and, per unit of a Harbor
 * task, `<trial>/result.json` and `<trial>/config.json`. The trial folder links `agent/`,
 * `verifier/` and `artifacts/` to the unit's own (relative links inside the output, made by
 * ocbox; nothing is copied or followed here). Rewritten whole with the summary.
 */
import { lstat, mkdir, rm, symlink } from "node:fs/promises";
import { join, relative } from "node:path";
import { writeJson } from "./manifest.js";
import {
  HARBOR_DIR,
  harborJobResult,
  harborTrialConfig,
  harborTrialResult,
  stableUuid,
  TRIAL_SESSION,
  trialName,
  type HarborTrialInput,
} from "./harbor-result.js";
import { runUpdatedAt, type LoadedRun } from "./run-view.js";

const LINKED = ["agent", "verifier", "artifacts"];

async function isReal(p: string, kind: "dir" | "file"): Promise<boolean> {
  const st = await lstat(p).catch((e: unknown) => {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  });
  return kind === "dir" ? st?.isDirectory() === true : st?.isFile() === true;
}

/** The trial folder's links into the unit's folder (only to what is really there, never through a link). */
async function linkUnit(trialDir: string, unitDir: string, hasSession: boolean): Promise<void> {
  const links: Array<[string, string, "dir" | "file"]> = LINKED.map((n) => [n, join("logs", n), "dir"]);
  if (hasSession) links.push([TRIAL_SESSION, TRIAL_SESSION, "file"]);
  for (const [name, target, kind] of links)
    if (await isReal(join(unitDir, target), kind))
      await symlink(relative(trialDir, join(unitDir, target)), join(trialDir, name));
}

/** The Harbor job folder for a run; undefined (and none written) when it has no Harbor task. */
export async function writeHarborResults(run: LoadedRun): Promise<string | undefined> {
  const units = run.units.filter((u) => u.record.verifier);
  const jobDir = join(run.dir, HARBOR_DIR);
  await rm(jobDir, { recursive: true, force: true });
  if (units.length === 0) return undefined;
  await mkdir(jobDir, { recursive: true, mode: 0o700 });
  const m = run.manifest;
  const jobId = stableUuid(`${run.dir}@${m.createdAt}`);
  const trials = [];
  for (const u of units) {
    const input: HarborTrialInput = {
      record: u.record,
      result: u.result,
      taskDir: join(m.config.tasksDir, u.record.task),
      jobDir,
      model: m.config.model,
      opencodeVersion: m.opencode,
      timeoutMultiplier: m.config.timeoutMultiplier ?? 1,
      jobId,
    };
    const dir = join(jobDir, trialName(u.record.task, u.record.repeat));
    await mkdir(dir, { mode: 0o700 });
    const trial = harborTrialResult(input);
    await writeJson(join(dir, "config.json"), harborTrialConfig(input));
    await writeJson(join(dir, "result.json"), trial);
    await linkUnit(dir, u.dir, u.record.session !== undefined);
    trials.push(trial);
  }
  await writeJson(
    join(jobDir, "result.json"),
    harborJobResult(trials, {
      id: jobId,
      startedAt: m.createdAt,
      finishedAt: runUpdatedAt(run).toISOString(),
    }),
  );
  return jobDir;
}
