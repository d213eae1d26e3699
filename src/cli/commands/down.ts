import type { Command } from "commander";
import { downProject } from "../../project/down.js";
import { openProject } from "../../project/up.js";
import { hostExecutedWarnings } from "../../sandbox/host-executed-edits.js";
import type { Context } from "../context.js";
import { style } from "../output.js";

export function registerDown(program: Command, run: (fn: (ctx: Context) => Promise<number>) => void) {
  program
    .command("down")
    .description("stop the project's sandbox and remove its containers; its state stays")
    .action(() =>
      run(async (ctx) => {
        const { project, state } = await openProject(process.cwd());
        const report = await downProject(ctx.engine(), project.sandboxId, state);
        const warnings = hostExecutedWarnings(report.hostExecutedEdits ?? []);
        if (ctx.out.json) for (const l of warnings) ctx.out.notice(l);
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
          ...warnings.map((l) => style.yellow(l)),
        ]);
        return 0;
      }),
    );
}
