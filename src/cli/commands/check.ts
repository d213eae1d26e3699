import type { Command } from "commander";
import { checkProject } from "../../monitor/check.js";
import { scanImage } from "../../monitor/scan.js";
import { ensureImages } from "../../image/build.js";
import { openProject } from "../../project/up.js";
import type { Context } from "../context.js";
import { style } from "../output.js";

export function registerCheck(program: Command, run: (fn: (ctx: Context) => Promise<number>) => void) {
  program
    .command("check")
    .description(
      "check the project without starting it: config, hook approval, the agent's MCP servers, image freshness",
    )
    .action(() =>
      run(async (ctx) => {
        const report = await checkProject(ctx.engine(), process.cwd());
        ctx.out.result(report, (r) =>
          r.items.flatMap((i) => [
            `${i.ok ? style.green("ok  ") : style.red("FAIL")} ${i.name.padEnd(8)} ${i.detail}`,
            ...(i.fix ? [`     ${style.yellow("fix:")} ${i.fix}`] : []),
          ]),
        );
        return report.ok ? 0 : 1;
      }),
    );

  program
    .command("scan")
    .description(
      "list the sandbox image's Debian packages and match them against Debian's security tracker data, if a copy is here",
    )
    .option("--image <ref>", "scan this image instead of the project's sandbox image")
    .action((opts: { image?: string }) =>
      run(async (ctx) => {
        let image = opts.image;
        if (!image) {
          const { project } = await openProject(process.cwd());
          const images = await ensureImages(ctx.engine(), {
            ...(project.config.image.base ? { base: project.config.image.base } : {}),
            packages: project.config.image.packages,
            onLine: (l) => ctx.out.debug(l),
          });
          image = images.sandbox.tag;
        }
        const report = await scanImage(ctx.engine(), image);
        ctx.out.result(report, (r) => [
          ...r.packages.map((p) => `${p.name.padEnd(36)} ${p.version}`),
          "",
          `${r.packages.length} packages in ${r.image} (Debian ${r.release ?? "release unknown"})`,
          ...(r.findings === null
            ? [style.yellow("vulnerabilities: NOT CHECKED")]
            : r.findings.length === 0
              ? ["vulnerabilities: none known in the data used"]
              : [
                  style.red(`vulnerabilities: ${r.findings.length}`),
                  ...r.findings.map(
                    (f) =>
                      `  ${f.cve} ${f.package} ${f.version} ${f.status === "open" ? "(no fix yet)" : `(fixed in ${f.fixedVersion})`}${f.urgency ? ` ${f.urgency}` : ""}`,
                  ),
                ]),
          ...r.notes.map((n) => style.dim(n)),
        ]);
        return scanExit(report.findings);
      }),
    );
}

/** 0 clean (with data), 1 findings; unknown (no data) is not a failure, and says so. */
function scanExit(findings: readonly unknown[] | null): number {
  return findings && findings.length > 0 ? 1 : 0;
}
