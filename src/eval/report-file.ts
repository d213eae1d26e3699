/** `ocbox eval report DIR [--compare DIR2]`: read the output dir(s), write `report.html`. */
import { readFile, writeFile } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { loadRun, runUpdatedAt } from "./run-view.js";
import { toolTimeline, type SessionExport } from "./session-export.js";
import { summarise } from "./summary.js";
import { renderReport, type ReportRun } from "./report.js";

async function reportRun(dir: string): Promise<ReportRun> {
  const run = await loadRun(dir);
  const summary = summarise(
    run.units,
    run.manifest.invalid,
    run.units.find((u) => u.judge)?.judge?.model ?? null,
    runUpdatedAt(run),
    run.manifest.tasks,
  );
  const units = await Promise.all(
    run.units.map(async (u) => {
      const session = await readFile(join(u.dir, "session.json"), "utf8").then(
        (t) => JSON.parse(t) as Partial<SessionExport> | null,
        () => null,
      );
      return {
        key: u.record.key,
        task: u.record.task,
        repeat: u.record.repeat,
        outcome: u.result.outcome,
        failureReason: u.result.failureReason,
        infra: u.record.infra,
        checkExit: u.record.check?.exitCode ?? null,
        seconds: u.result.timings.total,
        tokens: u.result.tokens.input + u.result.tokens.output + u.result.tokens.reasoning,
        cost: u.result.cost,
        grade: u.grade ?? null,
        judgeError: u.judge?.error ?? null,
        verifier: u.record.verifier ?? null,
        diff: await readFile(join(u.dir, "diff.patch"), "utf8").catch(() => ""),
        timeline: toolTimeline(session?.messages ? { messages: session.messages } : undefined),
        invalid: u.invalid,
      };
    }),
  );
  return {
    title: basename(run.dir),
    model: run.manifest.config.model,
    ...(run.manifest.workspace ? { workspace: run.manifest.workspace } : {}),
    summary,
    units,
  };
}

export async function writeReport(
  dir: string,
  options: { compare?: string; out?: string } = {},
): Promise<string> {
  const abs = resolve(dir);
  const run = await reportRun(abs);
  const compare = options.compare ? await reportRun(resolve(options.compare)) : undefined;
  const file = options.out ? resolve(options.out) : join(abs, "report.html");
  await writeFile(file, renderReport(run, compare), { mode: 0o600 });
  return file;
}
