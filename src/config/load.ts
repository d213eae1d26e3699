/**
 * Finding and reading the project config. The only file in config/ that touches the file system.
 *
 * The project root is the nearest folder, from the working directory up, that holds `ocbox.yaml`.
 * A `.git` folder alone does not make a root: `ocbox init` writes the file, and every other
 * command needs it.
 */
import { readFile, realpath, stat } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { OcboxError } from "../errors.js";
import { parseProjectConfig } from "./parse.js";
import { PROJECT_CONFIG_FILE } from "./project-schema.js";
import type { ProjectConfig } from "./project-schema.js";
import { sandboxIdFor, sandboxNameFromFolder } from "./sandbox-id.js";

export interface LoadedProject {
  /** Absolute, symlinks resolved. */
  root: string;
  /** Absolute path of ocbox.yaml. */
  file: string;
  config: ProjectConfig;
  /** `config.name`, or the name derived from the folder. */
  name: string;
  sandboxId: string;
}

async function isFile(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
}

/** The nearest folder from `cwd` upwards that holds ocbox.yaml, or undefined. */
export async function findProjectRoot(cwd: string): Promise<string | undefined> {
  let dir = resolve(cwd);
  for (;;) {
    if (await isFile(join(dir, PROJECT_CONFIG_FILE))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** Like findProjectRoot, but an OcboxError("CONFIG") with the fix when there is no project. */
export async function requireProjectRoot(cwd: string): Promise<string> {
  const root = await findProjectRoot(cwd);
  if (root !== undefined) return root;
  throw new OcboxError("CONFIG", `no ${PROJECT_CONFIG_FILE} in ${resolve(cwd)} or any folder above it`, {
    fix: `run \`ocbox init\` in the project's root folder, or cd into a project that has ${PROJECT_CONFIG_FILE}`,
  });
}

/** A project as read from disk, with the exact text `config` was parsed from (what approval hashes). */
export type ReadProject = LoadedProject & { text: string };

/** Read and validate `<root>/ocbox.yaml` (once); resolve the sandbox name and id. */
export async function loadProjectConfig(root: string): Promise<ReadProject> {
  const realRoot = await realpath(root).catch(() => resolve(root));
  const file = join(realRoot, PROJECT_CONFIG_FILE);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    throw new OcboxError("CONFIG", `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, {
      cause: e,
      fix: `run \`ocbox init\` in ${realRoot} to create it, or check its permissions`,
    });
  }
  const config = parseProjectConfig(text, file);
  const name = config.name ?? sandboxNameFromFolder(basename(realRoot));
  return { root: realRoot, file, config, text, name, sandboxId: sandboxIdFor(name, realRoot) };
}
