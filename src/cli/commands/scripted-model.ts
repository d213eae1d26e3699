import type { Command } from "commander";
import { OcboxError } from "../../errors.js";
import { loadScenarioFile } from "../../scripted-model/scenario.js";
import { startScriptedModel } from "../../scripted-model/server.js";
import type { Context } from "../context.js";

export function registerScriptedModel(
  program: Command,
  run: (fn: (ctx: Context) => Promise<number>) => void,
) {
  program
    .command("scripted-model")
    .description(
      "serve an OpenAI-compatible model that answers from a scenario file (for tests of your own pipelines)",
    )
    .requiredOption("--scenario <file>", "scenario file (YAML or JSON; see the README)")
    .option("--port <n>", "port on the host (0 = a free one)", "0")
    .option("--host <addr>", "address to bind", "127.0.0.1")
    .action((opts: { scenario: string; port: string; host: string }) =>
      run(async (ctx) => {
        const port = Number(opts.port);
        if (!Number.isInteger(port) || port < 0 || port > 65535) {
          throw new OcboxError("USAGE", `--port must be a TCP port (0-65535), not ${opts.port}`, {
            fix: "Give --port 0 for a free port.",
          });
        }
        const scenario = await loadScenarioFile(opts.scenario);
        const model = await startScriptedModel({ scenario, port, host: opts.host });
        ctx.out.result(
          { url: model.url, port: model.port, turns: scenario.turns.length },
          (r) => `scripted model on ${r.url} (${r.turns} turns); Ctrl+C stops it`,
        );
        await new Promise<void>((resolve) =>
          ctx.signal.addEventListener("abort", () => resolve(), { once: true }),
        );
        await model.close();
        return 0;
      }),
    );
}
