/**
 * A unit's workspace: a fresh copy of the task's `app/` (the task folder itself is never
 * touched) for the agent to work on, the agent's work copied back into the output, and afterwards
 * the diff from start to finish.
 *
 * Both copies go through copy-back.ts: a task set and an agent's tree are hostile input to the host
 * (SECURITY.md), so links are never followed, modes are masked and sizes capped. The output's
 * `workspace/` is 0700.
 *
 * The diff is `git diff --no-index`: a standard patch that `git apply` takes back, with binary
 * files, deletions and mode changes handled, which a hand-rolled line diff would have to
 * re-implement. git is a host prerequisite already (the project sandbox's hooks use it); without
 * it, `diff.patch` says so instead of failing the unit. It runs through `hostGit` (no config,
 * hook, external diff or textconv driver from anywhere the agent or a task set could write).
 */
import { mkdir, rm, writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { applySyncBack } from "../executor/sync-back.js";
import type { TaskResult } from "../executor/task.js";
import { copyBack } from "../sandbox/copy-back.js";
import { keepDir } from "../sandbox/kept-dir.js";
import { removeTree } from "../sandbox/remove-tree.js";
import { openSlotForSync } from "../sandbox/slot-dir.js";
import { DEFAULT_COPY_BACK_CAPS, type CopyBackCaps, type LeftOut } from "../sandbox/copy-back-policy.js";
import { errorMessage } from "../errors.js";
import { hostGit } from "../util/host-git.js";

/** A fresh 0700 copy of `from` (or an empty dir); returns what the copy left out. */
export async function freshCopy(
  from: string | undefined,
  to: string,
  caps: CopyBackCaps = DEFAULT_COPY_BACK_CAPS,
): Promise<LeftOut[]> {
  await rm(to, { recursive: true, force: true });
  await mkdir(to, { recursive: true, mode: 0o700 });
  if (!from) return [];
  return (await copyBack(from, to, { caps, mirror: true, rootMode: 0o700 })).leftOut;
}

/**
 * Bring the agent's work from `scratch` (the dir its sandbox had) into the output's `workspace`
 * and remove the scratch dir; the result says how it went (sync-back.ts). A failed copy keeps
 * the scratch dir and names it.
 */
export async function bringBack(
  scratch: string,
  workspace: string,
  result: TaskResult,
  caps: CopyBackCaps,
): Promise<TaskResult> {
  let report;
  try {
    // As an ordinary user, dirs the agent closed (`chmod 0300`) are opened up by descriptor first.
    await openSlotForSync(scratch);
    report = await copyBack(scratch, workspace, { caps, mirror: true, rootMode: 0o700 });
  } catch (e) {
    // Out of the output, whose unit dir a rerun replaces; it stays in place when it cannot move.
    const kept = await keepDir(scratch);
    return applySyncBack(result, { kind: "failed", step: "copy", error: errorMessage(e), kept: kept.path });
  }
  const back = applySyncBack(result, { kind: "synced", report, caps });
  try {
    await removeTree(scratch);
    return back;
  } catch (e) {
    // The work is back; only the scratch copy is left over.
    const warning = `WARNING the agent's work came back, but removing ${scratch} failed: ${errorMessage(e)}`;
    return { ...back, warnings: [...(back.warnings ?? []), warning] };
  }
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
      await writeFile(file, `# no diff: git diff --no-index failed (${r.code}): ${r.stderr.trim()}\n`, {
        mode: 0o600,
      });
      return 0;
    }
    const diff = relativizeDiff(r.stdout, empty, final);
    await writeFile(file, diff, { mode: 0o600 });
    return diff.length;
  } finally {
    if (!start) await rm(empty, { recursive: true, force: true });
  }
}
