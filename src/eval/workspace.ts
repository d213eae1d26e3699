/**
 * A unit's workspace: a fresh copy of the task's `app/` (the task folder itself is never
 * touched), and afterwards the diff from start to finish.
 *
 * The diff is `git diff --no-index`: a standard patch that `git apply` takes back, with binary
 * files, deletions and mode changes handled, which a hand-rolled line diff would have to
 * re-implement. git is a host prerequisite already (the project sandbox's hooks use it); without
 * it, `diff.patch` says so instead of failing the unit. It runs through `hostGit` (no config,
 * hook, external diff or textconv driver from anywhere the agent or a task set could write).
 */
import { cp, mkdir, rm, writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { hostGit } from "../util/host-git.js";

export async function freshCopy(from: string | undefined, to: string): Promise<void> {
  await rm(to, { recursive: true, force: true });
  if (from) await cp(from, to, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
  else await mkdir(to, { recursive: true });
}

/** Strip the absolute roots git prints, so paths read `a/src/x.ts`. Pure. */
export function relativizeDiff(diff: string, from: string, to: string): string {
  const strip = (p: string) => p.replace(/^\/+/, "").replace(/\/+$/, "");
  return diff
    .split(`a/${strip(from)}/`)
    .join("a/")
    .split(`b/${strip(to)}/`)
    .join("b/")
    .split(`a/${strip(to)}/`)
    .join("a/")
    .split(`b/${strip(from)}/`)
    .join("b/");
}

export async function writeDiff(start: string | undefined, finalDir: string, file: string): Promise<number> {
  const final = resolve(finalDir);
  const empty = start ? resolve(start) : `${final}.empty-start`;
  if (!start) await mkdir(empty, { recursive: true });
  try {
    // The agent wrote `final` (a `.git/config`, `.gitattributes` in it are its own) and the
    // caller's cwd may be a cloned task set: hostGit reads no config from either.
    const r = await hostGit(["diff", "--no-index", "--binary", "--no-color", "--", empty, final]).catch(
      (e: unknown) => ({ code: -1, stdout: "", stderr: String(e) }),
    );
    if (r.code !== 0 && r.code !== 1) {
      await writeFile(file, `# no diff: git diff --no-index failed (${r.code}): ${r.stderr.trim()}\n`);
      return 0;
    }
    const diff = relativizeDiff(r.stdout, empty, final);
    await writeFile(file, diff);
    return diff.length;
  } finally {
    if (!start) await rm(empty, { recursive: true, force: true });
  }
}
