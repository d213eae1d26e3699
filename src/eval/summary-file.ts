/** Write `summary.json` (and, for Harbor tasks, `harbor/`) for an output dir from what it holds now. */
import { join } from "node:path";
import { writeHarborResults } from "./harbor-result-file.js";
import { writeJson } from "./manifest.js";
import { loadRun } from "./run-view.js";
import { summarise, type Summary } from "./summary.js";

export async function writeSummary(dir: string, judgeModel: string | null = null): Promise<Summary> {
  const run = await loadRun(dir);
  const model = judgeModel ?? run.units.find((u) => u.judge?.model)?.judge?.model ?? null;
  const summary = summarise(run.units, run.manifest.invalid, model, new Date(), run.manifest.tasks);
  await writeJson(join(dir, "summary.json"), summary);
  await writeHarborResults(run);
  return summary;
}
