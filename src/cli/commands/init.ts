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
        // Widening egress is never a default: asked with "no" as the answer, never with --yes.
        const askEgress = opts.yes ? undefined : terminalAsk(false);
        const report = await initProject({
          cwd: process.cwd(),
          ...(ask ? { ask } : {}),
          ...(askEgress ? { askEgress } : {}),
        });
        ctx.out.result(report, (r) => [
          ...r.steps.map((s) => `${s.status.padEnd(8)} ${s.file}`),
          ...r.egress.steps
            .filter((s) => s.status === "added")
            .map((s) => `allowed  ${s.gap.host} (${s.gap.provider})`),
          ...r.egress.notes.map((n) => `note     ${n}`),
          `sandbox id ${r.sandboxId}; next: \`ocbox up\``,
        ]);
        return 0;
      }),
    );
}
