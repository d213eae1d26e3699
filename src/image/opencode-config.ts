import { createHash, randomBytes } from "node:crypto";
import { cp, mkdir, readFile, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { OcboxError, tail } from "../errors.js";
import { cacheHome, packageRoot } from "../util/paths.js";
import { run } from "../util/spawn.js";

const FILES = ["package.json", "package-lock.json", ".gitignore", "opencode.jsonc"] as const;

/** Digest of the pinned plugin manifest: it names the image's OpenCode config dir contents. */
export async function opencodeConfigDigest(): Promise<string> {
  const hash = createHash("sha256");
  for (const file of FILES)
    hash.update(await readFile(join(packageRoot(), "assets", "opencode-config", file)));
  return hash.digest("hex");
}

/**
 * OpenCode installs `@opencode-ai/plugin` into its config dir from npm at run time. The image
 * carries it instead, so the sandbox never needs the registry: it is installed here, on the host,
 * from a pinned lockfile, once per lockfile, and cached.
 */
export async function stageOpencodeConfig(onLine?: (line: string) => void): Promise<string> {
  const digest = (await opencodeConfigDigest()).slice(0, 16);
  const dir = join(cacheHome(), `opencode-config-${digest}`);
  const done = (): Promise<boolean> =>
    stat(join(dir, "node_modules")).then(
      () => true,
      () => false,
    );
  if (await done()) return dir;
  // A work dir of its own: two builds staging at once never share (or remove) each other's.
  const work = `${dir}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
  await mkdir(work, { recursive: true });
  for (const file of FILES)
    await cp(join(packageRoot(), "assets", "opencode-config", file), join(work, file));
  onLine?.("installing OpenCode's plugin package for offline use (npm, once)");
  // `npm install` against the pinned lockfile: `npm ci` trips over optional platform packages on npm 11.
  const result = await run(
    ["npm", "install", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
    {
      cwd: work,
    },
  ).catch((e: unknown) => ({ code: -1, stdout: "", stderr: String(e) }));
  if (result.code !== 0) {
    await rm(work, { recursive: true, force: true });
    throw new OcboxError("IMAGE_BUILD", "could not install OpenCode's plugin package with npm", {
      detail: tail(result.stderr || result.stdout),
      fix: "The host needs the npm registry once to build the image. Check `npm ping`, your npm proxy and CA settings.",
    });
  }
  if (await done()) {
    await rm(work, { recursive: true, force: true }); // another build staged it meanwhile
    return dir;
  }
  await rm(dir, { recursive: true, force: true });
  await rename(work, dir);
  return dir;
}
