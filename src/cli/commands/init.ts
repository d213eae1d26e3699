import type { Command } from "commander";
import { initProject } from "../../project/init.js";
import { terminalAsk } from "../ask.js";
import type { Context } from "../context.js";

export function registerInit(program: Command, run: (fn: (ctx: Context) => Promise<number>) => void) {
  program
    .command("init")
    .description(
      "set up this folder as a project: ocbox.yaml, opencode.jsonc, a pre-start hook (asks before each)",
    )
    .option("-y, --yes", "do every step without asking")
    .action((opts: { yes?: boolean }) =>
      run(async (ctx) => {
        const ask = opts.yes ? undefined : terminalAsk(true);
        const report = await initProject({ cwd: process.cwd(), ...(ask ? { ask } : {}) });
        ctx.out.result(report, (r) => [
          ...r.steps.map((s) => `${s.status.padEnd(8)} ${s.file}`),
          `sandbox id ${r.sandboxId}; next: \`ocbox up\``,
        ]);
        return 0;
      }),
    );
}
