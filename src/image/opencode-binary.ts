import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { existsSync, readFileSync } from "node:fs";
import { OcboxError } from "../errors.js";

/** OpenCode version ocbox is built and tested against. Bump with care (OPENCODE-NOTES). */
export const OPENCODE_VERSION = "1.18.33";

export interface OpencodeBinary {
  path: string;
  version: string;
  /** npm platform package it came from, e.g. opencode-linux-x64. */
  packageName: string;
}

const require = createRequire(import.meta.url);

/** The Linux package to put into an image for an engine of this architecture. */
export function platformPackage(engineArch: string): string {
  const arch = engineArch === "arm64" || engineArch === "aarch64" ? "arm64" : "x64";
  return `opencode-linux-${arch}`;
}

/** Find the pinned OpenCode binary in ocbox's own node_modules. No npm runs in the image. */
export function findOpencodeBinary(engineArch: string): OpencodeBinary {
  const packageName = platformPackage(engineArch);
  let pkgJson: string;
  try {
    pkgJson = require.resolve(`${packageName}/package.json`);
  } catch (e) {
    throw new OcboxError("IMAGE_BUILD", `the OpenCode binary package ${packageName} is not installed`, {
      cause: e,
      fix: `Install it next to ocbox: npm install --no-save ${packageName}@${OPENCODE_VERSION} (the engine's architecture is ${engineArch}).`,
    });
  }
  const version = (JSON.parse(readFileSync(pkgJson, "utf8")) as { version: string }).version;
  const path = join(dirname(pkgJson), "bin", "opencode");
  if (!existsSync(path)) {
    throw new OcboxError("IMAGE_BUILD", `${packageName} has no bin/opencode`, {
      fix: `Reinstall it: npm install --no-save ${packageName}@${OPENCODE_VERSION}`,
    });
  }
  return { path, version, packageName };
}

/**
 * Any installed Linux build of the pinned OpenCode (for reading what every build bundles alike,
 * such as its provider catalogue): this machine's architecture first, then the other one.
 */
export function findAnyOpencodeBinary(): OpencodeBinary {
  const first = process.arch === "arm64" ? "arm64" : "x64";
  try {
    return findOpencodeBinary(first);
  } catch (e) {
    if (!(e instanceof OcboxError && e.code === "IMAGE_BUILD")) throw e;
    return findOpencodeBinary(first === "x64" ? "arm64" : "x64");
  }
}
