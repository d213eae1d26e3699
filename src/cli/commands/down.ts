import type { Command } from "commander";
import { downProject, type DownReport } from "../../project/down.js";
import { openProject } from "../../project/up.js";
import { hostExecutedWarnings } from "../../sandbox/host-executed-edits.js";
import type { Context } from "../context.js";
import { style } from "../output.js";
import { syncLines } from "./sync.js";

/** What `down` says about a copy-mode workspace: the sync, or where the work stayed. Pure. */
export function copyLines(r: Pick<DownReport, "sync" | "kept" | "discarded">): string[] {
  const lines = r.sync ? syncLines(r.sync) : [];
  if (r.kept)
    lines.push(
      style.yellow(`the agent's work stays in the engine volume ${r.kept.volume}: ${r.kept.reason}`),
      style.yellow(`fix: ${r.kept.fix}`),
    );
  if (r.discarded) lines.push(`removed the agent's copy ${r.discarded} unsynced (--discard)`);
  return lines;
}

export function registerDown(program: Command, run: (fn: (ctx: Context) => Promise<number>) => void) {
  program
    .command("down")
    .description(
      "stop the project's sandbox and remove its containers; its state stays. Copy mode: syncs first, and keeps the volume if that fails",
    )
    .option("--discard", "copy mode: remove the agent's copy without syncing it back (its work is lost)")
    .action((opts: { discard?: boolean }) =>
      run(async (ctx) => {
        const { project, state } = await openProject(process.cwd());
        const report = await downProject(ctx.engine(), project.sandboxId, state, {
          ...(opts.discard ? { discard: true } : {}),
        });
        const warnings = hostExecutedWarnings(report.hostExecutedEdits ?? []);
        if (ctx.out.json) for (const l of warnings) ctx.out.notice(l);
        if (ctx.out.json && report.kept) ctx.out.notice(`${report.kept.reason}; fix: ${report.kept.fix}`);
        ctx.out.result(report, (r) => [
          ...(r.removed.length
            ? [
                `stopped ${r.sandboxId}`,
                ...(r.log ? [`its log: ${r.log}`] : []),
                ...(r.egressDecisions
                  ? [`${r.egressDecisions} egress decisions kept; \`ocbox egress log\``]
                  : []),
              ]
            : [`${r.sandboxId} was not running`]),
          ...copyLines(r),
          ...warnings.map((l) => style.yellow(l)),
        ]);
        // The work did not all come back: a script must not take this down for a clean one.
        return report.kept ? 1 : 0;
      }),
    );
}
