/**
 * ocbox's own git, run on agent data (ARCHITECTURE decision 8): no config, hook, attribute
 * driver or pager from anywhere the agent, a task set or a cloned repo could write.
 *
 * - the working directory is a fresh empty temp dir, and `GIT_CEILING_DIRECTORIES` stops the
 *   repository search there, so no `.git/config` (`diff.external`, `core.fsmonitor`, aliases,
 *   `core.pager`) of the caller's cwd or of a compared tree is read;
 * - `GIT_CONFIG_GLOBAL`/`GIT_CONFIG_SYSTEM` are `/dev/null` (and `GIT_CONFIG_NOSYSTEM=1`), HOME
 *   is that empty dir: the user's own config is not read either;
 * - no `GIT_*` variable is inherited (`GIT_DIR`, `GIT_WORK_TREE`, `GIT_EXTERNAL_DIFF`,
 *   `GIT_CONFIG_PARAMETERS`, ...), the terminal prompt and the pager are off;
 * - `-c` pins fsmonitor, hooks and attributes off, and `diff` runs with `--no-ext-diff
 *   --no-textconv`.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { run, type SpawnResult } from "./spawn.js";

/** Config pinned on the command line, ahead of the subcommand. */
export const HOST_GIT_CONFIG: readonly string[] = [
  "core.fsmonitor=false",
  "core.hooksPath=/dev/null",
  "core.attributesFile=/dev/null",
  "core.pager=cat",
  "core.sshCommand=false",
  "diff.external=",
  "protocol.allow=never",
];

/** Subcommands that take `--no-ext-diff --no-textconv`. */
const DIFF_LIKE = new Set(["diff", "log", "show"]);

/** The environment for ocbox's git: only PATH and locale come from the caller. Pure. */
export function hostGitEnv(home: string, parent: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return {
    PATH: parent.PATH ?? "/usr/local/bin:/usr/bin:/bin",
    ...(parent.LANG ? { LANG: parent.LANG } : {}),
    LC_ALL: "C",
    HOME: home,
    XDG_CONFIG_HOME: home,
    GIT_CONFIG_GLOBAL: "/dev/null",
    GIT_CONFIG_SYSTEM: "/dev/null",
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_ATTR_NOSYSTEM: "1",
    GIT_CEILING_DIRECTORIES: dirname(home),
    GIT_TERMINAL_PROMPT: "0",
    GIT_PAGER: "cat",
    PAGER: "cat",
    GIT_OPTIONAL_LOCKS: "0",
    GIT_NO_REPLACE_OBJECTS: "1",
  };
}

/** The argv for `git <args>` with the pinned config and, for diffs, the driver flags. Pure. */
export function hostGitArgv(args: readonly string[]): string[] {
  const [sub, ...rest] = args;
  const pinned = HOST_GIT_CONFIG.flatMap((c) => ["-c", c]);
  const drivers = sub && DIFF_LIKE.has(sub) ? ["--no-ext-diff", "--no-textconv"] : [];
  return ["git", "--no-pager", ...pinned, ...(sub ? [sub, ...drivers] : []), ...rest];
}

/**
 * Run git on agent data with every hook off (see above). Paths in `args` must be absolute: the
 * working directory is an empty temp dir, removed afterwards.
 */
export async function hostGit(
  args: readonly string[],
  options: { signal?: AbortSignal } = {},
): Promise<SpawnResult> {
  const home = await mkdtemp(join(tmpdir(), "ocbox-git-"));
  try {
    return await run(hostGitArgv(args), {
      cwd: home,
      env: hostGitEnv(home),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}
