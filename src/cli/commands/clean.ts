import type { Command } from "commander";
import { reap } from "../../sandbox/reaper.js";
import type { Context } from "../context.js";

export function registerClean(program: Command, run: (fn: (ctx: Context) => Promise<number>) => void) {
  program
    .command("clean")
    .description(
      "remove leftovers: containers, volumes and staged credentials of ocbox processes that are gone, and stopped detached sandboxes",
    )
    .action(() =>
      run(async (ctx) => {
        const report = await reap(ctx.engine(), { stopped: true });
        ctx.out.result(report, (r) => {
          const lines = [
            ...r.containers.map((c) => `removed container ${c}`),
            ...r.volumes.map((v) => `removed volume ${v}`),
            ...r.runDirs.map((d) => `removed ${d}`),
            ...r.workspaces.map((w) => `gave ${w} back to its owner`),
            ...r.errors.map((e) => `could not remove ${e}`),
          ];
          return lines.length ? lines : ["nothing to clean"];
        });
        return report.errors.length ? 1 : 0;
      }),
    );
}
