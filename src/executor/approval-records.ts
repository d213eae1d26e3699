/**
 * The approval records (issue 13, "Approval, for every entry point"): `approved.json` in the state
 * dir of the approval scope (the project root, or a task set's root), 0600. Version 2 keeps one
 * record per approved content hash of each capability-granting file; version 1 (the hook's and
 * ocbox.yaml's hashes, written by older ocbox) is read and carried over. The decision is pure
 * (plan/approval-state.ts); this file is the I/O.
 */
import { createHash } from "node:crypto";
import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import { z } from "zod";
import { OcboxError } from "../errors.js";
import { APPROVAL_FILE_KINDS, type ApprovalRecord } from "../plan/approval-files.js";
import type { FileVerdict } from "../plan/approval-state.js";
import { parseVersioned, readJsonFile } from "../util/versioned-file.js";
import { replaceFile } from "../util/replace-file.js";

/** approved.json's format: 1 (hook and config hashes), 2 (records). */
export const APPROVALS_VERSION = 2;
/** The approved text is kept for the next diff up to this size. */
export const MAX_KEPT_TEXT = 256 * 1024;
/** Records kept per file (the newest); older approvals of the same file are dropped. */
export const MAX_RECORDS_PER_FILE = 20;

const sha = z.string().regex(/^[0-9a-f]{64}$/, "a sha256 in hex");
const v1Schema = z.object({
  version: z.literal(1).default(1),
  hook: sha.nullable().optional(),
  config: sha.optional(),
});
const recordSchema = z.strictObject({
  kind: z.enum(APPROVAL_FILE_KINDS),
  path: z.string().min(1).optional(),
  sha256: sha,
  approvedAt: z.string(),
  text: z.string().optional(),
});
const v2Schema = z.strictObject({ version: z.literal(2), records: z.array(recordSchema) });

export function sha256(bytes: string | Buffer): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** A version-1 record as version-2 records (its hook hash approves the hook at any path). */
export function carryOver(v1: z.output<typeof v1Schema>): ApprovalRecord[] {
  const at = "1970-01-01T00:00:00.000Z";
  const records: ApprovalRecord[] = [];
  if (v1.config) records.push({ kind: "ocbox-yaml", path: "ocbox.yaml", sha256: v1.config, approvedAt: at });
  if (v1.hook) records.push({ kind: "hook", sha256: v1.hook, approvedAt: at });
  return records;
}

/** The records in a parsed approved.json (either version). Pure. */
export function parseApprovalRecords(value: unknown, file: string): ApprovalRecord[] {
  const fix = `Delete ${file}: ocbox then asks you to approve the project's files again.`;
  const what = { where: file, what: "approval record", current: APPROVALS_VERSION, fix };
  const version =
    typeof value === "object" && value !== null ? (value as { version?: unknown }).version : undefined;
  if (version === undefined || version === 1) return carryOver(parseVersioned(v1Schema, value, what));
  return parseVersioned(v2Schema, value, what).records.map((r) => ({ ...r }));
}

/** What was approved in this scope; nothing when there is no record. A damaged record is an error. */
export async function readApprovalRecords(file: string): Promise<ApprovalRecord[]> {
  const value = await readJsonFile(file, "approval record", `Delete ${file} and approve again.`);
  return value === undefined ? [] : parseApprovalRecords(value, file);
}

/** The records with `added` on top, the newest MAX_RECORDS_PER_FILE kept per file. Pure. */
export function mergeRecords(
  old: readonly ApprovalRecord[],
  added: readonly ApprovalRecord[],
): ApprovalRecord[] {
  const key = (r: ApprovalRecord) => `${r.kind}\0${r.path ?? ""}`;
  const all = [
    ...added,
    ...old.filter((o) => !added.some((a) => key(a) === key(o) && a.sha256 === o.sha256)),
  ];
  const count = new Map<string, number>();
  return all.filter((r) => {
    const n = (count.get(key(r)) ?? 0) + 1;
    count.set(key(r), n);
    return n <= MAX_RECORDS_PER_FILE;
  });
}

/** Write the records (0600, through a temp file and a rename, so a reader never sees half). */
export async function writeApprovalRecords(file: string, records: readonly ApprovalRecord[]): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  await replaceFile(file, `${JSON.stringify({ version: APPROVALS_VERSION, records }, null, 2)}\n`, {
    mode: 0o600,
  });
}

/** Record these verdicts as approved now, with the text each was read from (when small). */
export async function recordApprovals(
  file: string,
  verdicts: readonly FileVerdict[],
  texts: ReadonlyMap<string, string>,
  now: Date = new Date(),
): Promise<void> {
  if (verdicts.length === 0) return;
  const added = verdicts.map((v): ApprovalRecord => {
    const text = texts.get(v.sha256);
    return {
      kind: v.kind,
      path: v.path,
      sha256: v.sha256,
      approvedAt: now.toISOString(),
      ...(text !== undefined && text.length <= MAX_KEPT_TEXT ? { text } : {}),
    };
  });
  await writeApprovalRecords(file, mergeRecords(await readApprovalRecords(file), added));
}

/** Revoke the records of `path` (every hash) and/or of the hashes starting with `sha256`; the count removed. */
export async function revokeApprovals(
  file: string,
  match: { path?: string; sha256?: string },
): Promise<number> {
  if (match.path === undefined && match.sha256 === undefined) {
    throw new OcboxError("USAGE", "say what to revoke", { fix: "Give a file path, --sha HASH, or --all." });
  }
  const old = await readApprovalRecords(file);
  const hit = (r: ApprovalRecord) =>
    (match.path === undefined || r.path === match.path) &&
    (match.sha256 === undefined || r.sha256.startsWith(match.sha256));
  const keep = old.filter((r) => !hit(r));
  await writeApprovalRecords(file, keep);
  return old.length - keep.length;
}
