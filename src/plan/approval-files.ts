/**
 * The capability-granting files an entry point found (ARCHITECTURE decision 8, issue 13
 * "Approval, for every entry point"): what the caller read, as data for the approval decision.
 * The caller reads each file once, hashes those bytes and parses the same bytes; the planner
 * only sees the hash and the parsed content. Pure types.
 */
import type { ProjectConfig } from "../config/project-schema.js";

/** Every kind of file that can grant a sandbox (or the host side) more than the defaults. */
export const APPROVAL_FILE_KINDS = [
  "ocbox-yaml",
  "opencode-json",
  "hook",
  "workflow",
  /** Benchmark format (Harbor / Terminal-Bench): a task's task.toml. Always needs approval. */
  "task-toml",
  /** Benchmark format: a task's environment/Dockerfile (built on the host's engine). */
  "task-dockerfile",
] as const;
export type ApprovalFileKind = (typeof APPROVAL_FILE_KINDS)[number];

interface FileBase {
  /** Relative to the approval scope's root (the project root or the task set's root), `/`-separated. */
  path: string;
  /** sha256 (hex) of the bytes the caller read and will use. */
  sha256: string;
  /** Passed explicitly by the caller (`--workflow FILE`, a library option): counts as approved. */
  explicit?: boolean;
}

export type ApprovalFile =
  | (FileBase & { kind: "ocbox-yaml" | "workflow"; config: ProjectConfig })
  | (FileBase & { kind: "opencode-json"; config: Record<string, unknown> })
  | (FileBase & { kind: "hook"; empty: boolean })
  | (FileBase & { kind: "task-toml" | "task-dockerfile" });

/** One approval, as stored (data; project/approval-records.ts reads and writes them). */
export interface ApprovalRecord {
  kind: ApprovalFileKind;
  /** Relative path as in ApprovalFile; a hook record carried over from approved.json has none. */
  path?: string | undefined;
  sha256: string;
  /** ISO time of the approval. */
  approvedAt: string;
  /** The approved text, for `ocbox approve`'s diff (absent when too large or carried over). */
  text?: string | undefined;
}

/** How the caller can approve: a person at a terminal, the scripting flag, or nobody. */
export type ApprovalHow = "interactive" | "flag" | "none";
