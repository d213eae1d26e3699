import type { Command } from "commander";
import { errorMessage } from "../../errors.js";
import { openDashboard } from "../../monitor/dashboard.js";
import { openBrowser } from "../../project/web.js";
import type { Context } from "../context.js";
import { parsePort } from "../flags.js";

export function registerDashboard(program: Command, run: (fn: (ctx: Context) => Promise<number>) => void) {
  program
    .command("dashboard")
    .description(
      "serve a live dashboard of every running sandbox on 127.0.0.1 (one-time login link; serves until Ctrl+C)",
    )
    .option("--print", "print the one-time login link instead of opening a browser")
    .option("--port <n>", "port on 127.0.0.1 (default: a free port)", parsePort)
    .option("--interval <s>", "seconds between updates", (v) => Math.max(1, Number(v) || 2), 2)
    .action((opts: { print?: boolean; port?: number; interval: number }) =>
      run(async (ctx) => {
        const dashboard = await openDashboard(ctx.engine(), {
          ...(opts.port !== undefined ? { port: opts.port } : {}),
          intervalMs: opts.interval * 1000,
          onError: (e) => ctx.out.debug(`dashboard: ${errorMessage(e)}`),
        });
        try {
          const loginUrl = dashboard.loginUrl();
          if (!opts.print) await openBrowser(loginUrl);
          ctx.out.result({ url: dashboard.url, loginUrl, expiresInS: 60 }, (r) => [
            opts.print ? r.loginUrl : `opened the dashboard at ${r.url}`,
            `(one-time link, valid ${r.expiresInS} s; serving until Ctrl+C)`,
          ]);
          await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve, { once: true }));
          return 0;
        } finally {
          await dashboard.close();
        }
      }),
    );
}
