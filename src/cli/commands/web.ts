import type { Command } from "commander";
import { openProject } from "../../project/up.js";
import { openBrowser, openWebFront } from "../../project/web.js";
import type { Context } from "../context.js";

export function registerWeb(program: Command, run: (fn: (ctx: Context) => Promise<number>) => void) {
  program
    .command("web")
    .description("open the web UI logged in (a one-time login link to a local front; serves until Ctrl+C)")
    .option("--print", "print the one-time login link instead of opening a browser (headless machines)")
    .action((opts: { print?: boolean }) =>
      run(async (ctx) => {
        const engine = ctx.engine();
        const { project, state } = await openProject(process.cwd());
        const { row, front } = await openWebFront(engine, project.sandboxId, state);
        try {
          const loginUrl = front.loginUrl();
          if (!opts.print) await openBrowser(loginUrl);
          ctx.out.result({ sandboxId: row.sandboxId, front: front.url, loginUrl, expiresInS: 60 }, (r) =>
            opts.print
              ? [
                  r.loginUrl,
                  `(one-time link, valid ${r.expiresInS} s; the UI is at ${r.front} while this runs)`,
                ]
              : [`opened the web UI at ${r.front}; it is served while this runs (Ctrl+C stops)`],
          );
          // Serve until Ctrl+C or until the sandbox is gone.
          while (!ctx.signal.aborted) {
            await new Promise((r) => setTimeout(r, 2000));
            // undefined: the container is gone (404). An engine that stopped answering throws its own error.
            const state = await engine.containerState(row.agentId);
            if (!state?.running) {
              ctx.out.info("the sandbox stopped; closing the web front");
              return 1;
            }
          }
          return 0;
        } finally {
          await front.close();
        }
      }),
    );
}
