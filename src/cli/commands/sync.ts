import type { Command } from "commander";
import { errorMessage } from "../../errors.js";
import {
  DEFAULT_WATCH_INTERVAL_MS,
  syncProject,
  watchProjectSync,
  type SyncResult,
} from "../../project/sync.js";
import { openProject } from "../../project/up.js";
import type { Context } from "../context.js";
import { style } from "../output.js";
import { secondsFlag } from "../flags.js";

interface SyncFlags {
  watch?: boolean;
  interval?: number;
}

/** What a sync did, for a person. Pure. */
export function syncLines(r: SyncResult): string[] {
  const lines = [
    `synced ${r.sandboxId} in ${(r.ms.total / 1000).toFixed(1)} s: ${r.written.length} written, ` +
      `${r.deleted.length} deleted, ${r.conflicts.length} conflicts, ${r.skipped.length} left out`,
  ];
  for (const p of r.written) lines.push(`  wrote    ${p}`);
  for (const p of r.deleted) lines.push(`  deleted  ${p}`);
  for (const c of r.conflicts) {
    const what =
      c.kind === "both-edited"
        ? `edited on the host and by the agent: yours stays, the agent's is ${c.agentCopy}`
        : c.kind === "agent-deleted"
          ? "edited on the host, deleted by the agent: your edit stays"
          : "deleted on the host, edited by the agent: the agent's version is back";
    lines.push(style.yellow(`  conflict ${c.path}: ${what}`));
  }
  for (const l of r.skipped)
    lines.push(
      style.yellow(`  left out ${l.path}: ${l.reason}${l.size !== undefined ? ` (${l.size} bytes)` : ""}`),
    );
  return lines;
}

export function registerSync(program: Command, run: (fn: (ctx: Context) => Promise<number>) => void) {
  program
    .command("sync")
    .description(
      "bring the agent's work in a copy-mode sandbox (`ocbox up --copy`) back to the project; host edits are never overwritten",
    )
    .option("-w, --watch", `keep syncing, every --interval seconds after the last sync ended, until Ctrl+C`)
    .option(
      "--interval <s>",
      `with --watch: seconds between syncs (default ${DEFAULT_WATCH_INTERVAL_MS / 1000})`,
      (v: string) => secondsFlag("--interval", v),
    )
    .action((opts: SyncFlags) => run((ctx) => syncAction(ctx, opts)));
}

async function syncAction(ctx: Context, opts: SyncFlags): Promise<number> {
  const { state } = await openProject(process.cwd());
  const engine = ctx.engine();
  if (!opts.watch) {
    const result = await syncProject(engine, { state });
    ctx.out.result(result, syncLines);
    return 0;
  }
  ctx.out.info("syncing; Ctrl+C stops (a sync under way finishes first)");
  await watchProjectSync(engine, {
    state,
    intervalMs: opts.interval !== undefined ? opts.interval * 1000 : DEFAULT_WATCH_INTERVAL_MS,
    signal: ctx.signal,
    onResult: (r) => {
      // One JSON line per sync with --json; a person sees only syncs that did something.
      if (ctx.out.json) process.stdout.write(`${JSON.stringify(r)}\n`);
      else if (r.written.length + r.deleted.length + r.conflicts.length + r.skipped.length > 0)
        ctx.out.result(r, syncLines);
    },
    onError: (e) => ctx.out.notice(style.yellow(`sync failed (trying again): ${errorMessage(e)}`)),
  });
  ctx.out.info("stopped syncing");
  return 0;
}
