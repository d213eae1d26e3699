import type { Command } from "commander";
import {
  findProjectSandbox,
  formatUptime,
  listSandboxes,
  type SandboxRow,
} from "../../project/sandbox-list.js";
import { openProject } from "../../project/up.js";
import type { Context } from "../context.js";

function table(rows: readonly SandboxRow[]): string[] {
  if (rows.length === 0) return ["no sandbox is running"];
  const cells = [
    ["SANDBOX", "URL", "STATE", "UPTIME", "PROJECT"],
    ...rows.map((r) => [r.sandboxId, r.url || "exec relays", r.state, formatUptime(r.uptimeS), r.project]),
  ];
  const widths = [0, 1, 2, 3].map((i) => Math.max(...cells.map((c) => (c[i] ?? "").length)));
  return cells.map((c) => c.map((v, i) => (i < 4 ? v.padEnd(widths[i] ?? 0) : v)).join("  "));
}

export function registerLs(program: Command, run: (fn: (ctx: Context) => Promise<number>) => void) {
  program
    .command("ls")
    .description("list every running ocbox sandbox on the engine: id, URL, state, uptime, project")
    .action(() =>
      run(async (ctx) => {
        const rows = await listSandboxes(ctx.engine());
        ctx.out.result(rows, table);
        return 0;
      }),
    );
  program
    .command("status")
    .description("show the current project's sandbox (exit code 1 when it is not running)")
    .action(() =>
      run(async (ctx) => {
        const { project, state } = await openProject(process.cwd());
        const row = await findProjectSandbox(ctx.engine(), project.sandboxId);
        const status = {
          sandboxId: project.sandboxId,
          project: project.root,
          stateDir: state.dir,
          running: row !== undefined,
          sandbox: row ?? null,
        };
        ctx.out.result(status, (s) =>
          s.sandbox
            ? table([s.sandbox])
            : [`sandbox ${s.sandboxId} is not running (state in ${s.stateDir}); \`ocbox up\` starts it`],
        );
        return row ? 0 : 1;
      }),
    );
}
