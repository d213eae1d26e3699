import type { Command } from "commander";
import {
  egressLogLines,
  egressLogReport,
  egressSuggestLines,
  egressSuggestReport,
  projectDecisions,
} from "../../project/egress-log.js";
import { openProject } from "../../project/up.js";
import type { Context } from "../context.js";

export function registerEgress(program: Command, run: (fn: (ctx: Context) => Promise<number>) => void) {
  const egress = program
    .command("egress")
    .description("the egress proxy's allow/deny decisions of the current project's sandbox");
  egress
    .command("log")
    .description("show every allow and deny decision (the state dir's log, and the running sandbox's)")
    .action(() =>
      run(async (ctx) => {
        const { project, state } = await openProject(process.cwd());
        const d = await projectDecisions(ctx.engine(), project.sandboxId, state.egressLog);
        ctx.out.result(egressLogReport(project.sandboxId, d), egressLogLines);
        return 0;
      }),
    );
  egress
    .command("suggest")
    .description("list the denied hosts with the egress.allow lines (YAML) that would allow them")
    .action(() =>
      run(async (ctx) => {
        const { project, state } = await openProject(process.cwd());
        const d = await projectDecisions(ctx.engine(), project.sandboxId, state.egressLog);
        const { allow, restricted } = project.config.egress;
        ctx.out.result(
          egressSuggestReport(project.sandboxId, d, allow, restricted === true),
          egressSuggestLines,
        );
        return 0;
      }),
    );
}
