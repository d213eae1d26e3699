/**
 * `ocbox approve`, `ocbox approvals` and `ocbox approvals revoke` as library calls. The scope is
 * the nearest folder with ocbox.yaml from `dir` upwards (a project, or a task set inside one), or
 * `dir` itself when there is none; its files are ocbox.yaml, opencode.json(c) and the pre-start
 * hook, each read once. `approve` shows each unapproved file's diff against the last approved
 * version of that file, and records the bytes it showed when the person (or `yes`) confirms.
 */
import { resolve } from "node:path";
import { createTwoFilesPatch } from "diff";
import { findProjectRoot, loadProjectConfig } from "../config/load.js";
import { readWorkspaceOpencodeConfig } from "../config/opencode-json.js";
import { OcboxError } from "../errors.js";
import type { ApprovalRecord } from "../plan/approval-files.js";
import { fileVerdict, type FileVerdict } from "../plan/approval-state.js";
import { readApprovalRecords, recordApprovals, revokeApprovals } from "../executor/approval-records.js";
import {
  addOpencode,
  emptyRead,
  folderScope,
  readProjectFiles,
  type ApprovalScope,
  type ReadFiles,
} from "../executor/approval-check.js";

export interface ScopeOptions {
  /** A folder in the project or task set; default the current directory. */
  dir?: string;
  env?: NodeJS.ProcessEnv;
}

/** The scope around `dir` and its files as they are now. */
export async function readScope(options: ScopeOptions): Promise<{ scope: ApprovalScope; read: ReadFiles }> {
  const env = options.env ?? process.env;
  const dir = resolve(options.dir ?? process.cwd());
  const root = await findProjectRoot(dir);
  if (root !== undefined) {
    const { scope, read } = await readProjectFiles(await loadProjectConfig(root), undefined, env);
    return { scope, read };
  }
  const scope = folderScope(dir, undefined, env);
  const read = emptyRead();
  const opencode = await readWorkspaceOpencodeConfig(dir);
  if (opencode) addOpencode(read, scope, opencode);
  return { scope, read };
}

export interface FileReview extends FileVerdict {
  /** Unified diff against the last approved version (or against nothing); empty when approved. */
  diff: string;
  /** When the version the diff is against was approved; undefined: never approved before. */
  since?: string;
}

export interface ApproveResult {
  root: string;
  recordFile: string;
  files: FileReview[];
  /** The files recorded now (empty when everything was approved, or the person said no). */
  recorded: FileReview[];
}

/** The newest approved record of the same file (for the diff). */
function lastApproved(v: FileVerdict, records: readonly ApprovalRecord[]): ApprovalRecord | undefined {
  return records
    .filter((r) => r.kind === v.kind && (r.path === v.path || (r.path === undefined && v.kind === "hook")))
    .sort((a, b) => b.approvedAt.localeCompare(a.approvedAt))[0];
}

function review(v: FileVerdict, records: readonly ApprovalRecord[], read: ReadFiles): FileReview {
  if (v.status !== "unapproved") return { ...v, diff: "" };
  const last = lastApproved(v, records);
  const old = last?.text ?? "";
  const now = read.texts.get(v.sha256) ?? "";
  const header = last
    ? last.text === undefined
      ? "approved (text not kept)"
      : "approved"
    : "never approved";
  const diff = createTwoFilesPatch(v.path, v.path, old, now, header, "now", { context: 3 });
  return { ...v, diff, ...(last ? { since: last.approvedAt } : {}) };
}

/** The files of the scope with their verdicts and diffs; nothing is recorded. */
export async function reviewApprovals(options: ScopeOptions) {
  const { scope, read } = await readScope(options);
  const records = await readApprovalRecords(scope.recordFile);
  const files = read.files.map((f) => review(fileVerdict(f, records), records, read));
  return { scope, read, files };
}

/**
 * Show and record. `yes` records without asking; `ask` gets the diffs to show and answers;
 * with neither nothing is recorded (the result says what would be).
 */
export async function approveScope(
  options: ScopeOptions & { yes?: boolean; ask?: (files: FileReview[]) => Promise<boolean> },
): Promise<ApproveResult> {
  const { scope, read, files } = await reviewApprovals(options);
  const pending = files.filter((f) => f.status === "unapproved");
  const base = { root: scope.root, recordFile: scope.recordFile, files };
  if (pending.length === 0) return { ...base, recorded: [] };
  const yes = options.yes ?? (options.ask ? await options.ask(pending) : false);
  if (!yes) return { ...base, recorded: [] };
  await recordApprovals(scope.recordFile, pending, read.texts);
  return { ...base, recorded: pending };
}

/** The approval records of the scope around `dir` (texts left out). */
export async function listApprovals(options: ScopeOptions) {
  const { scope } = await readScope(options);
  const records = await readApprovalRecords(scope.recordFile);
  return {
    root: scope.root,
    recordFile: scope.recordFile,
    records: records.map(({ text: _text, ...r }) => ({ ...r, textKept: _text !== undefined })),
  };
}

/** Revoke the records of one file (every version, or the one whose hash starts with `sha256`), or all. */
export async function revokeApproval(
  options: ScopeOptions & { path?: string; sha256?: string; all?: boolean },
): Promise<{ root: string; revoked: number }> {
  const { scope } = await readScope(options);
  if (options.all) {
    const n = (await readApprovalRecords(scope.recordFile)).length;
    await revokeApprovals(scope.recordFile, { sha256: "" });
    return { root: scope.root, revoked: n };
  }
  if (options.path === undefined && options.sha256 === undefined) {
    throw new OcboxError("USAGE", "say which approval to revoke", {
      fix: "Give the file's path as `ocbox approvals` lists it, --sha HASH, or --all.",
    });
  }
  const match = {
    ...(options.path !== undefined ? { path: options.path } : {}),
    ...(options.sha256 !== undefined ? { sha256: options.sha256 } : {}),
  };
  return { root: scope.root, revoked: await revokeApprovals(scope.recordFile, match) };
}
