import type { Command } from "commander";
import { bootstrapBase } from "../../image/bootstrap.js";
import { ensureImages } from "../../image/build.js";
import type { Context } from "../context.js";

const mb = (bytes: number | undefined) => (bytes === undefined ? "?" : `${Math.round(bytes / 1e6)} MB`);

export function registerImage(program: Command, run: (fn: (ctx: Context) => Promise<number>) => void) {
  const image = program
    .command("image")
    .description("build the sandbox images, or bootstrap a base image from Debian's packages");
  image
    .command("build")
    .description("build the sandbox and egress images when their inputs changed (tag = hash of the inputs)")
    .option("--rebuild", "build even when an image with the same inputs exists")
    .option("--base <image>", "base image (default debian:bookworm-slim, or the bootstrapped base)")
    .option("--package <name...>", "extra Debian packages for the sandbox image")
    .action((opts: { rebuild?: boolean; base?: string; package?: string[] }) =>
      run(async (ctx) => {
        const engine = ctx.engine();
        const set = await ensureImages(engine, {
          ...(opts.rebuild ? { rebuild: true } : {}),
          ...(opts.base ? { base: opts.base } : {}),
          ...(opts.package ? { packages: opts.package } : {}),
          onLine: (l) => ctx.out.info(l),
        });
        const sizes = {
          sandbox: await engine.imageSize(set.sandbox.tag),
          egress: await engine.imageSize(set.egress.tag),
        };
        ctx.out.result({ ...set, sizes }, (s) =>
          [s.sandbox, s.egress].map(
            (i) =>
              `${i.kind.padEnd(8)} ${i.tag}  ${i.built ? `built in ${i.seconds.toFixed(1)} s` : "cached"}  ${mb(sizes[i.kind])}`,
          ),
        );
        return 0;
      }),
    );
  image
    .command("bootstrap")
    .description("make a Debian base image without a registry (debootstrap + import; needs root)")
    .option("--suite <name>", "Debian suite", "bookworm")
    .option("--mirror <url>", "Debian mirror", "http://deb.debian.org/debian")
    .option("--tag <ref>", "tag of the imported image")
    .action((opts: { suite: string; mirror: string; tag?: string }) =>
      run(async (ctx) => {
        const result = await bootstrapBase(ctx.engine(), {
          suite: opts.suite,
          mirror: opts.mirror,
          ...(opts.tag ? { tag: opts.tag } : {}),
          onStep: (step, seconds) => ctx.out.info(`${step} (${seconds.toFixed(1)} s)`),
          onLine: (l) => ctx.out.debug(l),
        });
        ctx.out.result(
          result,
          (r) =>
            `${r.tag}: debootstrap ${r.seconds.debootstrap.toFixed(1)} s, import ${r.seconds.import.toFixed(1)} s, total ${r.seconds.total.toFixed(1)} s`,
        );
        return 0;
      }),
    );
}
