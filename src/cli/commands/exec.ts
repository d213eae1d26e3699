import type { Command } from "commander";
import { OcboxError } from "../../errors.js";
import { execInProject } from "../../project/exec.js";
import { openProject } from "../../project/up.js";
import type { Context } from "../context.js";
import { terminalLine } from "../output.js";

export function registerExec(program: Command, run: (fn: (ctx: Context) => Promise<number>) => void) {
  program
    .command("exec")
    .description("run a command in the project's running sandbox, as the agent's user within its limits")
    .argument("<cmd...>", "the command and its arguments (put -- before options of the command)")
    .action((argv: string[]) =>
      run(async (ctx) => {
        if (argv.length === 0)
          throw new OcboxError("USAGE", "no command given", { fix: "ocbox exec -- ls -la" });
        const { project } = await openProject(process.cwd());
        const result = await execInProject(ctx.engine(), project.sandboxId, argv);
        if (ctx.out.json) {
          ctx.out.result(result, () => []);
        } else {
          // Byte for byte into a pipe (like `docker exec`); on a terminal, controls escaped.
          const show = (text: string, tty: boolean | undefined) => (tty ? terminalLine(text) : text);
          process.stdout.write(show(result.stdout, process.stdout.isTTY));
          process.stderr.write(show(result.stderr, process.stderr.isTTY));
        }
        return result.exitCode;
      }),
    );
}
