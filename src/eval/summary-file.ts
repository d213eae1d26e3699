/**
 * Write `summary.json` (and, for Harbor tasks, `harbor/`) for an output dir from the records it
 * holds now (unit.json, result.json, judge.json, the manifest), and nothing else: the same records
 * give the same files, so `ocbox eval report` can make them again after a resume or a rejudge.
 */
import { join } from "node:path";
import { writeHarborResults } from "./harbor-result-file.js";
import { writeJson } from "./manifest.js";
import { loadRun, runUpdatedAt } from "./run-view.js";
import { summarise, type Summary } from "./summary.js";

export async function writeSummary(dir: string, judgeModel: string | null = null): Promise<Summary> {
  const run = await loadRun(dir);
  const model = judgeModel ?? run.units.find((u) => u.judge?.model)?.judge?.model ?? null;
  const summary = summarise(run.units, run.manifest.invalid, model, runUpdatedAt(run), run.manifest.tasks);
  await writeJson(join(dir, "summary.json"), summary);
  await writeHarborResults(run);
  return summary;
}
