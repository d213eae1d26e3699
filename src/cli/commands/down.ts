import type { Command } from "commander";
import { downProject } from "../../project/down.js";
import { openProject } from "../../project/up.js";
import type { Context } from "../context.js";

export function registerDown(program: Command, run: (fn: (ctx: Context) => Promise<number>) => void) {
  program
    .command("down")
    .description("stop the project's sandbox and remove its containers; its state stays")
    .action(() =>
      run(async (ctx) => {
        const { project, state } = await openProject(process.cwd());
        const report = await downProject(ctx.engine(), project.sandboxId, state);
        ctx.out.result(report, (r) =>
          r.removed.length
            ? [
                `stopped ${r.sandboxId}`,
                ...(r.log ? [`its log: ${r.log}`] : []),
                ...(r.egressDecisions
                  ? [`${r.egressDecisions} egress decisions kept; \`ocbox egress log\``]
                  : []),
              ]
            : [`${r.sandboxId} was not running`],
        );
        return 0;
      }),
    );
}
