import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { OcboxError, tail } from "../errors.js";
import type { Engine } from "../runtime/engine.js";
import { run } from "../util/spawn.js";
import { BOOTSTRAP_BASE, type BootstrapHost } from "./base.js";

/** Whether a bootstrap can run here: root, with debootstrap on PATH. */
export async function bootstrapHost(): Promise<BootstrapHost> {
  const which = await run(["sh", "-c", "command -v debootstrap"]);
  return { root: process.getuid?.() === 0, debootstrap: which.code === 0 };
}

export interface BootstrapOptions {
  suite?: string;
  mirror?: string;
  tag?: string;
  onStep?: (step: string, seconds: number) => void;
  onLine?: (line: string) => void;
}

export interface BootstrapResult {
  tag: string;
  suite: string;
  mirror: string;
  seconds: { debootstrap: number; import: number; total: number };
}

/**
 * Make a Debian base image without a container registry: debootstrap a minimal root filesystem
 * from a Debian mirror, then import it into the engine. Needs root and debootstrap on the host.
 */
export async function bootstrapBase(
  engine: Engine,
  options: BootstrapOptions = {},
): Promise<BootstrapResult> {
  const suite = options.suite ?? "bookworm";
  const mirror = options.mirror ?? "http://deb.debian.org/debian";
  const tag = options.tag ?? BOOTSTRAP_BASE;
  if (process.getuid?.() !== 0) {
    throw new OcboxError(
      "BOOTSTRAP",
      "image bootstrap needs root (debootstrap creates device nodes and owners)",
      {
        fix: "Run it as root: sudo ocbox image bootstrap",
      },
    );
  }
  await engine.info();
  const which = await run(["sh", "-c", "command -v debootstrap"]);
  if (which.code !== 0) {
    throw new OcboxError("BOOTSTRAP", "debootstrap is not installed", {
      fix: "Install it from Debian's packages: apt-get install -y debootstrap",
    });
  }
  const started = performance.now();
  const dir = await mkdtemp(join(tmpdir(), "ocbox-bootstrap-"));
  const rootfs = join(dir, "rootfs");
  try {
    const result = await run(["debootstrap", "--variant=minbase", suite, rootfs, mirror], {
      ...(options.onLine ? { onLine: options.onLine } : {}),
    });
    if (result.code !== 0) {
      throw new OcboxError("BOOTSTRAP", `debootstrap of ${suite} from ${mirror} failed`, {
        detail: tail(result.stdout + result.stderr),
        fix: "Check that the mirror is reachable (curl -I " + mirror + "/dists/" + suite + "/Release).",
      });
    }
    await run([
      "sh",
      "-c",
      'rm -rf "$1"/var/cache/apt/archives/*.deb "$1"/var/lib/apt/lists/* "$1"/var/log/*',
      "sh",
      rootfs,
    ]);
    const debootstrapS = (performance.now() - started) / 1000;
    options.onStep?.(`debootstrap ${suite} (minbase)`, debootstrapS);

    const importStarted = performance.now();
    const tar = spawn("tar", ["-C", rootfs, "--numeric-owner", "--exclude=./dev/*", "-cf", "-", "."], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let tarErr = "";
    tar.stderr.on("data", (c: Buffer) => (tarErr += c.toString()));
    const tarDone = new Promise<number>((resolve) => tar.on("close", (code) => resolve(code ?? 1)));
    await engine.importImage(tar.stdout, tag);
    if ((await tarDone) !== 0)
      throw new OcboxError("BOOTSTRAP", "packing the root filesystem failed", { detail: tarErr });
    const importS = (performance.now() - importStarted) / 1000;
    options.onStep?.(`import as ${tag}`, importS);
    return {
      tag,
      suite,
      mirror,
      seconds: { debootstrap: debootstrapS, import: importS, total: (performance.now() - started) / 1000 },
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
