/**
 * `ocbox up`'s copy mode keeps its sync state in the project's state dir (0700, on the host, where
 * the agent cannot write): which volume holds the agent's copy, the sandbox image its helpers use,
 * the excludes and caps decided at `up` (after approval; a later ocbox.yaml the agent synced back
 * cannot widen them), and the base of the three-way merge (sync-decision.ts): what was copied in,
 * then what each sync left. Written whole to a new file and renamed (0600).
 */
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import type { CopyBackCaps } from "../sandbox/copy-back-policy.js";
import type { TreeEntry } from "../sandbox/sync-decision.js";
import type { StateLayout } from "../util/state-layout.js";
import { parseVersioned, readJsonFile } from "../util/versioned-file.js";
import { replaceFile } from "../util/replace-file.js";

export const COPY_BASE_VERSION = 1;

const entrySchema = z.union([
  z.object({
    kind: z.literal("file"),
    size: z.number().int(),
    hash: z.string(),
    mode: z.number().int(),
    stamp: z.string().optional(),
  }),
  z.object({ kind: z.literal("link"), target: z.string() }),
  z.object({ kind: z.literal("dir") }),
]);

const recordSchema = z.object({
  kind: z.literal("ocbox-copy-base"),
  version: z.literal(COPY_BASE_VERSION).default(COPY_BASE_VERSION),
  sandboxId: z.string(),
  runId: z.string(),
  volume: z.string(),
  image: z.string(),
  workspace: z.string(),
  exclude: z.array(z.string()),
  caps: z.object({ maxFileBytes: z.number().int().positive(), maxTotalBytes: z.number().int().positive() }),
  /** When the base was last taken (the copy in, or the last sync). */
  at: z.string(),
  base: z.array(z.tuple([z.string(), entrySchema])),
});

export interface CopyBase {
  sandboxId: string;
  runId: string;
  volume: string;
  image: string;
  workspace: string;
  exclude: string[];
  caps: CopyBackCaps;
  at: string;
  base: Map<string, TreeEntry>;
}

export const copyBaseFile = (state: Pick<StateLayout, "dir">): string => join(state.dir, "copy-base.json");

/** The record as stored. Pure. */
export function copyBaseJson(record: CopyBase): string {
  const { base, ...rest } = record;
  const entries = [...base.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify({ kind: "ocbox-copy-base", version: COPY_BASE_VERSION, ...rest, base: entries });
}

/** The stored record read back (or a clear error naming the file). Pure. */
export function parseCopyBase(value: unknown, where: string): CopyBase {
  const parsed = parseVersioned(recordSchema, value, {
    where,
    what: "copy-mode sync state",
    current: COPY_BASE_VERSION,
    fix: "It is ocbox's own file: the agent's copy is still in its volume. Remove the file, then `ocbox down --discard` drops that copy (or copy what you need out of the sandbox first).",
  });
  const { kind: _kind, version: _version, base, ...rest } = parsed;
  return { ...rest, base: new Map(base) };
}

export async function readCopyBase(state: Pick<StateLayout, "dir">): Promise<CopyBase | undefined> {
  const file = copyBaseFile(state);
  const value = await readJsonFile(
    file,
    "copy-mode sync state",
    "Remove it; `ocbox down --discard` drops the agent's copy.",
  );
  return value === undefined ? undefined : parseCopyBase(value, file);
}

export async function writeCopyBase(state: Pick<StateLayout, "dir">, record: CopyBase): Promise<void> {
  const file = copyBaseFile(state);
  await replaceFile(file, copyBaseJson(record), { mode: 0o600 });
}

export async function removeCopyBase(state: Pick<StateLayout, "dir">): Promise<void> {
  await rm(copyBaseFile(state), { force: true });
}
