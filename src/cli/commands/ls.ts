import type { Command } from "commander";
import {
  findProjectSandbox,
  formatUptime,
  listSandboxes,
  type SandboxRow,
} from "../../project/sandbox-list.js";
import { openProject } from "../../project/up.js";
import { relayState, type RelayState } from "../../project/detached-relay.js";
import { stateLayout } from "../../util/state-layout.js";
import type { Context } from "../context.js";

type Row = SandboxRow & { relay?: RelayState["state"]; relayPid?: number };

/** With exec relays: the detached relay of the row's run (project/detached-relay.ts), if any. */
async function withRelay(row: SandboxRow): Promise<Row> {
  if (row.port > 0) return row;
  const r = await relayState(stateLayout(row.sandboxId).dir);
  if (r.state === "none" || r.runId !== row.runId) return { ...row, relay: "none" };
  return { ...row, relay: r.state, relayPid: r.pid };
}

function where(r: Row): string {
  if (r.url) return r.url;
  if (r.relay === "running") return `exec relays (relay pid ${r.relayPid})`;
  if (r.relay === "gone") return "exec relays (relay gone: `ocbox web` restarts it)";
  return "exec relays";
}

function table(rows: readonly Row[]): string[] {
  if (rows.length === 0) return ["no sandbox is running"];
  const cells = [
    ["SANDBOX", "URL", "STATE", "UPTIME", "PROJECT"],
    ...rows.map((r) => [r.sandboxId, where(r), r.state, formatUptime(r.uptimeS), r.project]),
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
        const rows = await Promise.all((await listSandboxes(ctx.engine())).map(withRelay));
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
        const found = await findProjectSandbox(ctx.engine(), project.sandboxId);
        const row = found ? await withRelay(found) : undefined;
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
