import type { Command } from "commander";
import { smoke, type SmokeStep } from "../../executor/smoke.js";
import type { Context } from "../context.js";
import { style, terminalLine } from "../output.js";

function stepLine(s: SmokeStep): string[] {
  const mark = s.status === "ok" ? style.green("✓") : s.status === "failed" ? style.red("✗") : style.dim("-");
  const time = s.status === "skipped" ? "      " : `${s.seconds.toFixed(1).padStart(5)}s`;
  const lines = [
    `${mark} ${s.name.padEnd(8)} ${time}  ${s.status === "skipped" ? style.dim(s.detail) : s.detail}`,
  ];
  if (s.error?.detail)
    lines.push(
      ...s.error.detail
        .split("\n")
        .slice(-25)
        .map((l) => style.dim(`    ${l}`)),
    );
  if (s.fix) lines.push(`  ${style.yellow("fix:")} ${s.fix.split("\n").join("\n       ")}`);
  return lines;
}

export function registerSmoke(program: Command, run: (fn: (ctx: Context) => Promise<number>) => void) {
  program
    .command("smoke")
    .description(
      "check the whole chain on this machine: engine, images, a sandbox, one scripted prompt, the result",
    )
    .option("--base <image>", "base image for the sandbox images")
    .option("--rebuild", "rebuild the images even when they exist")
    .option(
      "--runtime <name>",
      "run the agent container under this registered runtime (hardening.runtime, e.g. runsc)",
    )
    .action((opts: { base?: string; rebuild?: boolean; runtime?: string }) =>
      run(async (ctx) => {
        const report = await smoke(ctx.engine(), {
          image: { ...(opts.base ? { base: opts.base } : {}), ...(opts.rebuild ? { rebuild: true } : {}) },
          signal: ctx.signal,
          ...(opts.runtime !== undefined ? { runtime: opts.runtime } : {}),
          onStep: (s) => {
            if (!ctx.out.json) for (const l of stepLine(s)) process.stdout.write(`${terminalLine(l)}\n`);
          },
          onLine: (l) => ctx.out.debug(`  ${l}`),
          // --verbose shows every line already (onLine).
          onProgress: (l) => !ctx.out.verbose && ctx.out.info(`  ${l}`),
        });
        ctx.out.result(report, (r) =>
          r.ok
            ? style.green(`smoke passed in ${r.seconds.toFixed(1)} s`)
            : style.red(`smoke failed after ${r.seconds.toFixed(1)} s`),
        );
        return report.ok ? 0 : 1;
      }),
    );
}
