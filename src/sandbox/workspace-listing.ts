/**
 * Copy mode's sync back, the cheap first look (issue 14 item 2): a helper container (ocbox's image,
 * the agent's volume read-only, no network) lists the agent's tree (type, mode, size, path, link
 * target, NUL-separated) and hashes the files within the per-file cap. The host compares that
 * listing with the base and fetches only the candidates (new or changed files); everything else is
 * known already. Pure: the scripts, the parsing and the comparison.
 *
 * The listing is the agent's data (names, contents, what the agent raced in between): it only
 * decides what to fetch. What a fetched file is, the host hashes itself (workspace-pull.ts); a
 * candidate the fetch did not bring keeps its base (never read as a delete); links, dirs and modes
 * go through the same decision and the same hardened copy as before.
 */
import type { CopyBackCaps, LeftOut, LeftOutReason } from "./copy-back-policy.js";
import type { Excluded } from "./copy-excludes.js";
import { sameEntry, type Tree, type TreeEntry } from "./sync-decision.js";

export const SOURCE_DIR = "/ocbox-src";
/** The helper's own volume: the listing, the wanted list, the fetched tree. */
export const OUT_DIR = "/ocbox-snap";
export const TREE_DIR = `${OUT_DIR}/tree`;

/** A plain name (`node_modules`, `.venv`) a find `-prune` may skip: no glob, no slash, no quote. */
const PLAIN = /^[A-Za-z0-9._-]+$/;

/**
 * The exclude patterns find may prune without listing (an optimisation only: the host filters the
 * listing by the patterns again). Only plain names (`x` or `x/`), and none at all when a pattern
 * re-includes something (`!x`). Pure.
 */
export function prunableNames(patterns: readonly string[]): string[] {
  if (patterns.some((p) => p.trim().startsWith("!"))) return [];
  return patterns
    .map((p) => p.trim().replace(/\/$/, ""))
    .filter((n) => n !== "." && n !== ".." && PLAIN.test(n));
}

function pruneExpr(names: readonly string[]): string {
  if (names.length === 0) return "";
  return `\\( ${names.map((n) => `-name '${n}'`).join(" -o ")} \\) -prune -o `;
}

/**
 * The listing helper's script: the tree (with each file's change time and inode, its stamp), then,
 * with `hash` (a base without stamps: the first sync after the copy in), the hashes of the files
 * within the cap.
 */
export function listScript(maxFileBytes: number, prune: readonly string[], hash = true): string {
  if (!Number.isSafeInteger(maxFileBytes) || maxFileBytes < 0)
    throw new Error(`not a byte count: ${maxFileBytes}`);
  const p = pruneExpr(prune.filter((n) => PLAIN.test(n)));
  return [
    "set -e",
    `cd ${SOURCE_DIR}`,
    `find . -xdev -mindepth 1 ${p}-printf '%y\\0%m\\0%s\\0%C@:%i\\0%P\\0%l\\0' > ${OUT_DIR}/list`,
    // A file gone before its hash (the agent still works) only makes it a candidate.
    hash
      ? `find . -xdev -mindepth 1 ${p}-type f -size -${maxFileBytes + 1}c -print0 | xargs -0r sha256sum -z > ${OUT_DIR}/hashes || true`
      : `: > ${OUT_DIR}/hashes`,
  ].join("\n");
}

/**
 * The fetch helper's script: the wanted paths (NUL-separated, in OUT_DIR/want) copied with their
 * parents into TREE_DIR, links as links; then files over the cap emptied there (an agent that grew
 * one since the listing cannot make the archive stream it) and listed in OUT_DIR/trimmed.
 */
export function fetchScript(maxFileBytes: number): string {
  if (!Number.isSafeInteger(maxFileBytes) || maxFileBytes < 0)
    throw new Error(`not a byte count: ${maxFileBytes}`);
  return [
    "set -e",
    `cd ${SOURCE_DIR}`,
    `mkdir -p ${TREE_DIR}`,
    // A path gone since the listing is missing from the tree: its base stays (see the file comment).
    `xargs -0r -a ${OUT_DIR}/want cp -P --parents --preserve=mode,timestamps,links --sparse=always -t ${TREE_DIR} -- || true`,
    `find ${TREE_DIR} -xdev -type f -size +${maxFileBytes}c -printf '%s\\0%P\\0' -exec truncate -s 0 {} + > ${OUT_DIR}/trimmed`,
  ].join("\n");
}

export interface ListedEntry {
  type: string;
  mode: number;
  size: number;
  /** Change time and inode (`%C@:%i`). */
  stamp: string;
  path: string;
  target: string;
}

const validPath = (p: string): boolean =>
  p !== "" && !p.startsWith("/") && p.split("/").every((c) => c !== "" && c !== "." && c !== "..");

const FIELDS = 6;

/** The listing's records (6 NUL-terminated fields each); odd records are dropped. Pure. */
export function parseListing(bytes: Buffer): ListedEntry[] {
  const fields = bytes.toString("utf8").split("\0");
  const out: ListedEntry[] = [];
  for (let i = 0; i + FIELDS - 1 < fields.length; i += FIELDS) {
    const [type = "", mode = "", size = "", stamp = "", path = "", target = ""] = fields.slice(i, i + FIELDS);
    if (!/^[0-7]+$/.test(mode) || !/^\d+$/.test(size) || stamp === "" || !validPath(path)) continue;
    out.push({ type, mode: parseInt(mode, 8), size: Number(size), stamp, path, target });
  }
  return out;
}

/** Whether the listing must hash: most of the base's files have no stamp yet (the first sync). Pure. */
export function needsHashes(base: Tree): boolean {
  let files = 0;
  let stamped = 0;
  for (const e of base.values())
    if (e.kind === "file") {
      files++;
      if (e.stamp) stamped++;
    }
  return files > 0 && stamped * 2 < files;
}

/** `sha256sum -z` output: path → hash. Pure. */
export function parseHashes(bytes: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  for (const rec of bytes.toString("utf8").split("\0")) {
    const m = /^([0-9a-f]{64}) [ *]\.\/(.+)$/s.exec(rec);
    if (m) out.set(m[2] as string, m[1] as string);
  }
  return out;
}

/** `%s\0%P\0` pairs of the fetch's trimmed list: path → apparent size. Pure. */
export function parseTrimmedList(bytes: Buffer): Map<string, number> {
  const fields = bytes.toString("utf8").split("\0");
  const out = new Map<string, number>();
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const size = fields[i] as string;
    const path = fields[i + 1] as string;
    if (/^\d+$/.test(size) && validPath(path)) out.set(path, Number(size));
  }
  return out;
}

export interface ListingPlan {
  /** The agent's tree as far as the listing tells (candidates as in the base, until fetched). */
  agent: Map<string, TreeEntry>;
  /** Files to fetch: new, or changed by size, mode or hash. */
  candidates: string[];
  dirModes: Map<string, number>;
  leftOut: LeftOut[];
  /** The candidates' stamps, for the base once fetched. */
  stamps: Map<string, string>;
}

const LEFT_OUT: Record<string, LeftOutReason> = { p: "fifo", s: "socket", b: "device", c: "device" };

/** What the listing says against the base: the tree, the candidates, what stays out. Pure. */
export function planFromListing(
  listing: readonly ListedEntry[],
  hashes: ReadonlyMap<string, string>,
  base: Tree,
  options: { caps: CopyBackCaps; excluded: Excluded },
): ListingPlan {
  const plan: ListingPlan = {
    agent: new Map(),
    candidates: [],
    dirModes: new Map(),
    leftOut: [],
    stamps: new Map(),
  };
  const keepBase = (path: string, left: LeftOut) => {
    plan.leftOut.push(left);
    const b = base.get(path);
    if (b) plan.agent.set(path, b);
  };
  for (const e of listing) {
    if (options.excluded(e.path)) continue;
    if (e.type === "d") {
      plan.agent.set(e.path, { kind: "dir" });
      plan.dirModes.set(e.path, e.mode);
    } else if (e.type === "l") plan.agent.set(e.path, { kind: "link", target: e.target });
    else if (e.type === "f") {
      if (e.size > options.caps.maxFileBytes) {
        keepBase(e.path, { path: e.path, reason: "over-file-cap", size: e.size });
        continue;
      }
      const b = base.get(e.path);
      const hash = hashes.get(e.path) ?? (b?.kind === "file" && b.stamp === e.stamp ? b.hash : undefined);
      const entry: TreeEntry = { kind: "file", size: e.size, hash: hash ?? "", mode: e.mode, stamp: e.stamp };
      if (hash !== undefined && sameEntry(entry, b)) plan.agent.set(e.path, entry);
      else {
        plan.candidates.push(e.path);
        plan.stamps.set(e.path, e.stamp);
        if (b) plan.agent.set(e.path, b);
      }
    } else keepBase(e.path, { path: e.path, reason: LEFT_OUT[e.type] ?? "device" });
  }
  return plan;
}
