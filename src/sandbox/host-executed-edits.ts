/**
 * Files in a workspace that run on the host later, outside any sandbox: git's config and hooks
 * (a person's next `git status` or `git commit`), direnv's `.envrc`, VS Code's tasks, npm's
 * scripts, a Makefile, ocbox's own pre-start hook. An agent that edits one has planted code the
 * host runs the next time someone uses the project, so each `up` session and `run` task ends
 * with the list of such edits. Pure: two snapshots in, the edits out.
 */

/** Workspace-relative files watched as a whole (`.git/hooks/*` is listed apart). */
export const HOST_EXECUTED_FILES = [
  ".git/config",
  ".envrc",
  ".vscode/tasks.json",
  "Makefile",
  "makefile",
  "GNUmakefile",
] as const;

/** The folder whose every entry git may run. */
export const GIT_HOOKS_DIR = ".git/hooks";

export interface HostExecSnapshot {
  /** Workspace-relative path → a fingerprint of its content (`sha256:…`, `symlink:…`, `dir`, …). */
  files: Record<string, string>;
  /** `package.json` scripts (compared as data, not as bytes); null without a readable object. */
  packageScripts: Record<string, string> | null;
}

export type EditChange = "added" | "modified" | "removed";

export interface HostExecutedEdit {
  /** Workspace-relative, e.g. `.git/hooks/pre-commit`, `package.json`. */
  path: string;
  change: EditChange;
  /** For `package.json`: the script's name. */
  script?: string;
  /** Who runs it on the host, in words. */
  runBy: string;
}

/** Who runs a watched path on the host. Pure. */
export function runByOf(path: string, hookPath?: string): string {
  if (hookPath !== undefined && path === hookPath)
    return "`ocbox up` sources it on the host (after approval)";
  if (path === ".git/config")
    return "git reads it in every command (core.fsmonitor, aliases, diff and filter drivers)";
  if (path.startsWith(`${GIT_HOOKS_DIR}/`)) return "git runs it as a hook (commit, checkout, merge, push)";
  if (path === ".envrc") return "direnv runs it when a shell enters the folder";
  if (path === ".vscode/tasks.json") return "VS Code runs its tasks";
  if (path === "package.json") return "npm runs it (npm install, npm run, npm test)";
  return "make runs it";
}

const change = (before: string | undefined, after: string | undefined): EditChange | undefined =>
  before === after
    ? undefined
    : before === undefined
      ? "added"
      : after === undefined
        ? "removed"
        : "modified";

/** The edits between two snapshots, files first (sorted), then package.json scripts. Pure. */
export function hostExecutedEdits(
  before: HostExecSnapshot,
  after: HostExecSnapshot,
  hookPath?: string,
): HostExecutedEdit[] {
  const edits: HostExecutedEdit[] = [];
  const paths = [...new Set([...Object.keys(before.files), ...Object.keys(after.files)])].sort();
  for (const path of paths) {
    const c = change(before.files[path], after.files[path]);
    if (c) edits.push({ path, change: c, runBy: runByOf(path, hookPath) });
  }
  const a = before.packageScripts ?? {};
  const b = after.packageScripts ?? {};
  for (const script of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
    const c = change(a[script], b[script]);
    if (c) edits.push({ path: "package.json", change: c, script, runBy: runByOf("package.json") });
  }
  return edits;
}

/** One WARNING line per edit, for a human summary. Pure. */
export function hostExecutedWarnings(edits: readonly HostExecutedEdit[]): string[] {
  return edits.map(
    (e) =>
      `WARNING: the agent ${e.change === "modified" ? "changed" : e.change} ${e.script !== undefined ? `the script "${e.script}" in package.json` : e.path}; ${e.runBy}. Read it before you use the project on the host.`,
  );
}
