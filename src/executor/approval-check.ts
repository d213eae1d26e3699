/**
 * The I/O side of approval, shared by every entry point: find the approval scope (the project
 * root, or the task set's root), turn the files the caller read into the planner's ApprovalFile
 * data (each read once; the hash is of the bytes that are then parsed and used), read the
 * records, and record what a person or the flag approved. The decision is plan/approval-state.ts.
 */
import { basename, join, relative, sep } from "node:path";
import type { ReadProject } from "../config/load.js";
import { readWorkspaceOpencodeConfig } from "../config/opencode-json.js";
import type { ProjectConfig } from "../config/project-schema.js";
import { sandboxIdFor, sandboxNameFromFolder } from "../config/sandbox-id.js";
import type { ApprovalFile, ApprovalHow } from "../plan/approval-files.js";
import { decideApproval, type ApprovalState } from "../plan/approval-state.js";
import type { EntryPoint } from "../plan/entry-point.js";
import { readApprovalRecords, recordApprovals, sha256 } from "./approval-records.js";
import { readHook } from "../util/hook.js";
import { stateLayout } from "../util/state-layout.js";

export interface ApprovalScope {
  /** The folder approval is scoped to; file paths are relative to it. */
  root: string;
  /** Its approval record (approved.json in its state dir). */
  recordFile: string;
}

/** The scope of a project (its sandbox id names the state dir, as for `ocbox up`). */
export function projectScope(
  root: string,
  sandboxId: string,
  env: NodeJS.ProcessEnv = process.env,
): ApprovalScope {
  return { root, recordFile: stateLayout(sandboxId, env).approved };
}

/** The scope of a folder with no ocbox.yaml (a task set, a bare workspace). */
export function folderScope(root: string, name: string | undefined, env: NodeJS.ProcessEnv = process.env) {
  return projectScope(root, sandboxIdFor(name ?? sandboxNameFromFolder(basename(root)), root), env);
}

/** What the caller read: the files as planner data, and their texts by hash (for diffs). */
export interface ReadFiles {
  files: ApprovalFile[];
  texts: Map<string, string>;
}

export const emptyRead = (): ReadFiles => ({ files: [], texts: new Map() });

const relPath = (root: string, abs: string) => relative(root, abs).split(sep).join("/");

/** Add a config file (ocbox.yaml or a workflow) parsed from `text`. */
export function addConfig(
  read: ReadFiles,
  scope: ApprovalScope,
  kind: "ocbox-yaml" | "workflow",
  file: { abs: string; text: string; config: ProjectConfig; explicit?: boolean },
): void {
  const hash = sha256(file.text);
  read.texts.set(hash, file.text);
  read.files.push({
    kind,
    path: relPath(scope.root, file.abs),
    sha256: hash,
    config: file.config,
    ...(file.explicit ? { explicit: true } : {}),
  });
}

export function addOpencode(
  read: ReadFiles,
  scope: ApprovalScope,
  file: { file: string; text: string; config: Record<string, unknown> },
): void {
  const hash = sha256(file.text);
  read.texts.set(hash, file.text);
  read.files.push({
    kind: "opencode-json",
    path: relPath(scope.root, file.file),
    sha256: hash,
    config: file.config,
  });
}

export function addHook(read: ReadFiles, scope: ApprovalScope, abs: string, text: string): void {
  const hash = sha256(text);
  read.texts.set(hash, text);
  read.files.push({ kind: "hook", path: relPath(scope.root, abs), sha256: hash, empty: text.trim() === "" });
}

/** A benchmark task's task.toml or environment/Dockerfile (for the Harbor format's reader). */
export function addTaskFile(
  read: ReadFiles,
  scope: ApprovalScope,
  kind: "task-toml" | "task-dockerfile",
  abs: string,
  bytes: string,
): void {
  const hash = sha256(bytes);
  read.texts.set(hash, bytes);
  read.files.push({ kind, path: relPath(scope.root, abs), sha256: hash });
}

/** The state of these files in this scope, for this entry point and way of approving. */
export async function checkApproval(
  entry: EntryPoint,
  scope: ApprovalScope,
  read: ReadFiles,
  how: ApprovalHow,
): Promise<ApprovalState> {
  return decideApproval({
    entry,
    files: read.files,
    records: await readApprovalRecords(scope.recordFile),
    how,
  });
}

/** Store what the flag approved (state `approved` with pending files); nothing otherwise. */
export async function recordDecided(
  state: ApprovalState,
  scope: ApprovalScope,
  read: ReadFiles,
): Promise<void> {
  if (state.kind === "approved" && state.record.length)
    await recordApprovals(scope.recordFile, state.record, read.texts);
}

/**
 * A project's capability-granting files, each read once: ocbox.yaml (as `project` read it),
 * opencode.json(c) and the pre-start hook. The parsed OpenCode config and the hook's text are
 * returned so that the caller uses exactly what was hashed.
 */
export async function readProjectFiles(
  project: ReadProject,
  hookFile: string = join(project.root, project.config.hook.preStart),
  env: NodeJS.ProcessEnv = process.env,
) {
  const scope = projectScope(project.root, project.sandboxId, env);
  const read = emptyRead();
  addConfig(read, scope, "ocbox-yaml", { abs: project.file, text: project.text, config: project.config });
  const opencodeJson = await readWorkspaceOpencodeConfig(project.root);
  if (opencodeJson) addOpencode(read, scope, opencodeJson);
  const hook = await readHook(hookFile);
  if (hook !== undefined) addHook(read, scope, hookFile, hook);
  return { scope, read, opencodeJson, hook, hookFile };
}
