import type { Command } from "commander";
import { OcboxError } from "../../errors.js";
import { describePending } from "../../plan/approval-state.js";
import { approveScope, type FileReview } from "../../project/approval-commands.js";
import { terminalAsk } from "../ask.js";
import type { Context } from "../context.js";
import { style } from "../output.js";

function showDiffs(ctx: Context, files: readonly FileReview[]): void {
  for (const f of files) {
    ctx.out.info(
      style.yellow(`${describePending(f)}${f.since ? `, last approved ${f.since}` : ", never approved"}`),
    );
    for (const line of f.diff.split("\n").slice(2)) ctx.out.info(line);
  }
}

export function registerApprove(program: Command, run: (fn: (ctx: Context) => Promise<number>) => void) {
  program
    .command("approve [dir]")
    .description(
      "show what changed in the project's (or task set's) ocbox.yaml, opencode.json(c) and pre-start hook since you last approved them, and record them",
    )
    .option("-y, --yes", "record without asking (after printing the diffs)")
    .action((dir: string | undefined, opts: { yes?: boolean }) =>
      run(async (ctx) => {
        const terminal = opts.yes ? undefined : terminalAsk(false);
        const result = await approveScope({
          ...(dir ? { dir } : {}),
          ...(opts.yes ? { yes: true } : {}),
          ask: async (pending) => {
            showDiffs(ctx, pending);
            return terminal ? terminal(`Approve ${pending.length} file(s) as shown?`) : false;
          },
        });
        if (opts.yes) showDiffs(ctx, result.recorded);
        const pending = result.files.filter((f) => f.status === "unapproved");
        if (pending.length && result.recorded.length === 0 && !terminal) {
          throw new OcboxError("CONFIG", `not recorded: ${pending.map((f) => f.path).join(", ")}`, {
            fix: "Read the diffs above; `ocbox approve --yes` records them (or run it in a terminal and answer).",
          });
        }
        ctx.out.result(result, (r) => [
          ...(r.recorded.length
            ? r.recorded.map((f) => `approved ${f.path} (sha256 ${f.sha256.slice(0, 12)})`)
            : pending.length
              ? ["nothing recorded"]
              : [`nothing to approve in ${r.root}: every file is approved as it is`]),
        ]);
        return pending.length && result.recorded.length === 0 ? 2 : 0;
      }),
    );
}
