import type { Command } from "commander";
import { OcboxError } from "../../errors.js";
import { ENTRY_POINTS, type EntryPoint } from "../../plan/entry-point.js";
import type { Plan } from "../../plan/plan.js";
import { planView } from "../../plan/plan-view.js";
import { dryPlanUp } from "../../project/dry-plan.js";
import type { Context } from "../context.js";

/** Print a plan: JSON with --json, else the same JSON indented (a plan is data). */
export function printPlan(ctx: Context, plan: Plan): number {
  ctx.out.result(planView(plan), (v) => JSON.stringify(v, null, 2));
  return 0;
}

/** `ocbox up --dry-run`: the plan `up` would make with these flags. */
export async function printUpPlan(
  ctx: Context,
  flags: { autonomous?: boolean; port?: number; detach?: boolean },
): Promise<number> {
  const plan = await dryPlanUp({
    cwd: process.cwd(),
    ...(flags.autonomous ? { autonomous: true } : {}),
    ...(flags.port !== undefined ? { port: flags.port } : {}),
    ...(flags.detach ? { detach: true } : {}),
  });
  return printPlan(ctx, plan);
}

interface PlanFlags {
  entry: string;
  workspace?: string;
  model?: string;
  role?: string;
  workflow?: string;
  autonomous?: boolean;
}

function entryOf(name: string): EntryPoint {
  if ((ENTRY_POINTS as readonly string[]).includes(name)) return name as EntryPoint;
  throw new OcboxError("USAGE", `--entry ${name} is not an entry point`, {
    fix: `Use one of: ${ENTRY_POINTS.join(", ")}.`,
  });
}

export function registerPlan(program: Command, run: (fn: (ctx: Context) => Promise<number>) => void) {
  program
    .command("plan")
    .description(
      "print the resolved plan (sandbox, env names, permission policy, task) without starting anything",
    )
    .option("--entry <name>", `the entry point to plan for: ${ENTRY_POINTS.join(", ")}`, "run")
    .option("-w, --workspace <dir>", "the task's workspace (default: the current directory)")
    .option("-m, --model <provider/model>", "the model, overriding the role and the configs")
    .option("-r, --role <name>", "a role from ocbox.yaml's roles: (or --workflow)")
    .option("--workflow <file>", "a file with roles:, pools: and executor:")
    .option("--autonomous", "up: plan with every OpenCode permission approved")
    .action((flags: PlanFlags) =>
      run(async (ctx) => {
        const entry = entryOf(flags.entry);
        const cwd = flags.workspace ?? process.cwd();
        if (entry === "up")
          return printPlan(ctx, await dryPlanUp({ cwd, ...(flags.autonomous ? { autonomous: true } : {}) }));
        return printPlan(
          ctx,
          // Loaded here: `up` imports this file for printUpPlan, and must not load the task executor.
          await (
            await import("../../executor/dry-plan.js")
          ).dryPlanTask({
            entry,
            workspace: cwd,
            ...(flags.model ? { model: flags.model } : {}),
            ...(flags.role ? { role: flags.role } : {}),
            ...(flags.workflow ? { workflowFile: flags.workflow } : {}),
          }),
        );
      }),
    );
}
