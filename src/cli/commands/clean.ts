import type { Command } from "commander";
import { OcboxError } from "../../errors.js";
import { removeProjectState } from "../../project/clean-state.js";
import { openProject } from "../../project/up.js";
import { removeCacheVolumes } from "../../sandbox/cache-volume-init.js";
import { reap } from "../../sandbox/reaper.js";
import { reapRelays } from "../../project/detached-relay.js";
import { terminalAsk } from "../ask.js";
import type { Context } from "../context.js";

export function registerClean(program: Command, run: (fn: (ctx: Context) => Promise<number>) => void) {
  program
    .command("clean")
    .description(
      "remove leftovers: containers, volumes and staged credentials of ocbox processes that are gone, and stopped detached sandboxes",
    )
    .option(
      "--state",
      "also remove the current project's state (password, OpenCode sessions, logs), after asking",
    )
    .option("-y, --yes", "with --state: do not ask")
    .option(
      "--volumes",
      "also remove the performance volumes (ocbox.yaml `volumes:`, e.g. node_modules) of every project; kept otherwise",
    )
    .action((opts: { state?: boolean; yes?: boolean; volumes?: boolean }) =>
      run(async (ctx) => {
        const report = await reap(ctx.engine(), { stopped: true });
        const relays = await reapRelays(ctx.engine());
        const cache = opts.volumes ? await removeCacheVolumes(ctx.engine()) : undefined;
        if (cache) report.errors.push(...cache.errors);
        let stateRemoved: string | undefined;
        if (opts.state) {
          const { project, state } = await openProject(process.cwd());
          const ask = terminalAsk(false);
          if (!opts.yes) {
            if (!ask) {
              throw new OcboxError(
                "USAGE",
                `not removing ${state.dir} without asking, and there is no terminal to ask`,
                {
                  fix: "run `ocbox clean --state --yes` to remove it",
                },
              );
            }
            const yes = await ask(
              `Remove ${state.dir} (OpenCode sessions, password, logs of ${project.sandboxId})?`,
            );
            if (!yes) throw new OcboxError("USAGE", "state kept", { fix: "nothing to do" });
          }
          stateRemoved = await removeProjectState(ctx.engine(), project.sandboxId, state);
        }
        const result = {
          ...report,
          ...(cache ? { cacheVolumes: cache.removed } : {}),
          ...(relays.length ? { relaysStopped: relays } : {}),
          ...(stateRemoved ? { stateRemoved } : {}),
        };
        ctx.out.result(result, (r) => {
          const lines = [
            ...r.containers.map((c) => `removed container ${c}`),
            ...r.volumes.map((v) => `removed volume ${v}`),
            ...(r.cacheVolumes ?? []).map((v) => `removed cache volume ${v}`),
            ...r.runDirs.map((d) => `removed ${d}`),
            ...(r.relaysStopped ?? []).map((d) => `stopped the relay of ${d}`),
            ...r.workspaces.map((w) => `gave ${w} back to its owner`),
            ...r.errors.map((e) => `could not remove ${e}`),
            ...(stateRemoved ? [`removed the project's state ${stateRemoved}`] : []),
          ];
          return lines.length ? lines : ["nothing to clean"];
        });
        return report.errors.length ? 1 : 0;
      }),
    );
}
