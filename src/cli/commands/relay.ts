import type { Command } from "commander";
import { RELAY_JOB_ENV } from "../../project/detached-relay.js";
import { serveRelay } from "../../project/relay-process.js";
import { parseHandedJob } from "../../project/relay-record.js";
import type { Context } from "../context.js";

/** `ocbox relay`: the detached relay of `up --detach` (project/detached-relay.ts); not for people. */
export function registerRelay(program: Command, run: (fn: (ctx: Context) => Promise<number>) => void) {
  program
    .command("relay", { hidden: true })
    .description("serve a detached sandbox's reverse relays (started by `ocbox up --detach`)")
    .action(() =>
      run(async (ctx) => {
        const { job, token, stateDir } = parseHandedJob(process.env[RELAY_JOB_ENV], RELAY_JOB_ENV);
        const log = (line: string) => process.stdout.write(`${new Date().toISOString()} ${line}\n`);
        log(`relay for ${job.sandboxId} run ${job.runId}: ${job.targets.map((t) => t.what).join(", ")}`);
        const stop = new Promise<"interrupted">((resolve) =>
          ctx.signal.addEventListener("abort", () => resolve("interrupted"), { once: true }),
        );
        const why = await Promise.race([serveRelay(ctx.engine(), job, { token, stateDir, log }), stop]);
        log(`relay ended: ${why}`);
        return why === "relay ended" ? 1 : 0;
      }),
    );
}
