import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import type { Command } from "commander";
import { openBridge } from "../../bridge/bridge.js";
import { BRIDGE_TOOLS } from "../../bridge/tools.js";
import type { Context } from "../context.js";
import { APPROVE_CONFIG_HELP, parsePort } from "../flags.js";

export function registerBridge(program: Command, run: (fn: (ctx: Context) => Promise<number>) => void) {
  program
    .command("bridge")
    .description(
      "serve the MCP conductor bridge for this project (delegate_task runs a task in a fresh sandbox); HTTP on 127.0.0.1 with a bearer token, or --stdio",
    )
    .option("--stdio", "speak MCP over stdin/stdout (for a client that spawns ocbox)")
    .option("--port <n>", "HTTP port on 127.0.0.1 (default: a free port)", parsePort)
    .option("--approve-config", APPROVE_CONFIG_HELP)
    .action((opts: { stdio?: boolean; port?: number; approveConfig?: boolean }) =>
      run(async (ctx) => {
        const bridge = await openBridge({
          cwd: process.cwd(),
          engine: ctx.engine(),
          ...(opts.approveConfig ? { approveConfig: true } : {}),
        });
        try {
          if (opts.stdio) {
            ctx.out.info(`ocbox bridge (stdio) for ${bridge.projectRoot}`);
            await Promise.race([
              bridge.serveStdio(new StdioServerTransport()),
              new Promise((resolve) => ctx.signal.addEventListener("abort", resolve, { once: true })),
            ]);
            return 0;
          }
          const http = await bridge.serveHttp(opts.port);
          ctx.out.result(
            {
              url: http.url,
              tokenFile: http.tokenFile,
              project: bridge.projectRoot,
              tools: [...BRIDGE_TOOLS],
            },
            (r) => [
              `ocbox bridge for ${r.project}`,
              `  MCP (streamable HTTP)  ${r.url}`,
              `  bearer token           in ${r.tokenFile} (send \`Authorization: Bearer <token>\`)`,
              `  tools                  ${r.tools.join(", ")}`,
              "serving until Ctrl+C",
            ],
          );
          await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve, { once: true }));
          await http.close();
          return 0;
        } finally {
          await bridge.close();
        }
      }),
    );
}
