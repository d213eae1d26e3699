import type { Command } from "commander";
import { listApprovals, revokeApproval } from "../../project/approval-commands.js";
import type { Context } from "../context.js";

export function registerApprovals(program: Command, run: (fn: (ctx: Context) => Promise<number>) => void) {
  const cmd = program
    .command("approvals")
    .description("list the approvals recorded for the project (or task set) around a folder")
    .argument("[dir]", "a folder in the project (default: the current directory)")
    .action((dir: string | undefined) =>
      run(async (ctx) => {
        const list = await listApprovals(dir ? { dir } : {});
        ctx.out.result(list, (l) => [
          `approvals for ${l.root} (${l.recordFile})`,
          ...(l.records.length
            ? l.records.map(
                (r) =>
                  `  ${r.approvedAt}  ${r.kind.padEnd(13)} ${r.path ?? "(any path)"}  ${r.sha256.slice(0, 12)}`,
              )
            : ["  none"]),
        ]);
        return 0;
      }),
    );
  cmd
    .command("revoke [path]")
    .description("revoke the approvals of a file (every version, or --sha), or --all")
    .option("--dir <dir>", "a folder in the project (default: the current directory)")
    .option("--sha <prefix>", "only the version whose sha256 starts with this")
    .option("--all", "every approval of the project")
    .action((path: string | undefined, opts: { dir?: string; sha?: string; all?: boolean }) =>
      run(async (ctx) => {
        const r = await revokeApproval({
          ...(opts.dir ? { dir: opts.dir } : {}),
          ...(path !== undefined ? { path } : {}),
          ...(opts.sha !== undefined ? { sha256: opts.sha } : {}),
          ...(opts.all ? { all: true } : {}),
        });
        ctx.out.result(r, (x) => `revoked ${x.revoked} approval(s) in ${x.root}`);
        return 0;
      }),
    );
}
