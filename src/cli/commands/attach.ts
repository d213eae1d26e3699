import type { Command } from "commander";
import { runAttach } from "../../project/attach.js";
import { requirePassword } from "../../project/state.js";
import { openProject } from "../../project/up.js";
import { requireRunning } from "../../project/web.js";
import { localServerFor } from "../../project/server-access.js";
import { ensureRelay } from "../../project/detached-relay.js";
import type { Context } from "../context.js";

export function registerAttach(program: Command, run: (fn: (ctx: Context) => Promise<number>) => void) {
  program
    .command("attach")
    .description("open OpenCode's terminal UI on the project's running sandbox")
    .option("-c, --continue", "continue the last session")
    .option("-s, --session <id>", "continue this session")
    .action((opts: { continue?: boolean; session?: string }) =>
      run(async (ctx) => {
        const { project, state } = await openProject(process.cwd());
        const row = await requireRunning(ctx.engine(), project.sandboxId);
        // A detached sandbox's ways back (exec transport): started again when its relay is gone.
        await ensureRelay(state.dir, row);
        const password = await requirePassword(state);
        const extra = [
          ...(opts.continue ? ["--continue"] : []),
          ...(opts.session ? ["--session", opts.session] : []),
        ];
        const server = await localServerFor(ctx.engine(), row);
        try {
          return await runAttach(server.url, password, extra, row.workspaceTarget);
        } finally {
          await server.close();
        }
      }),
    );
}
