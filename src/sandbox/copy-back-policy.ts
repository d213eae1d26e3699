/**
 * What the host keeps of an agent-written tree (the pure half of copy-back.ts): the mode of each
 * entry, which entry kinds come back at all, and the size caps. Pure.
 *
 * Modes are masked like an extractor that distrusts its archive: permission bits only (no setuid,
 * setgid or sticky), never group- or world-writable, and the owner (the host user, who made the
 * copy) always keeps read and write, plus search on dirs, so it can read and remove what came back.
 */

/** Apparent-size caps for one copy back to the host, in bytes. */
export interface CopyBackCaps {
  /** A file whose apparent size is over this is left out. */
  maxFileBytes: number;
  /** The files one copy writes (new or changed) may add up to this; the rest is left out. */
  maxTotalBytes: number;
}

const GIB = 1024 ** 3;

/** `limits.copyBack` defaults: 2 GiB per file, 20 GiB per task. */
export const DEFAULT_COPY_BACK_CAPS: CopyBackCaps = { maxFileBytes: 2 * GIB, maxTotalBytes: 20 * GIB };

/** What an entry is, from its `st_mode`. */
export type EntryKind = "file" | "dir" | "link" | "fifo" | "socket" | "device";

const S_IFMT = 0o170000;
const KINDS: Record<number, EntryKind> = {
  0o100000: "file",
  0o040000: "dir",
  0o120000: "link",
  0o010000: "fifo",
  0o140000: "socket",
  0o020000: "device",
  0o060000: "device",
};

export function entryKind(mode: number): EntryKind {
  return KINDS[mode & S_IFMT] ?? "device";
}

/** The mode the host gives a copied file or dir: `& 0o777 & ~0o022`, owner rw (and x on dirs). */
export function hostMode(mode: number, kind: "file" | "dir"): number {
  const masked = mode & 0o777 & ~0o022;
  return masked | (kind === "dir" ? 0o700 : 0o600);
}

/** Why an entry did not come back. */
export type LeftOutReason =
  | "fifo"
  | "socket"
  | "device"
  | "over-file-cap"
  | "over-total-cap"
  /** Copy mode: a hard link to a file the sync did not read (its content is not known). */
  | "hardlink";

export interface LeftOut {
  /** Relative to the tree's root, with `/`. */
  path: string;
  reason: LeftOutReason;
  /** Apparent size in bytes, for the caps. */
  size?: number;
}

export const isOverCap = (l: LeftOut): boolean =>
  l.reason === "over-file-cap" || l.reason === "over-total-cap";

/**
 * Whether a file of `size` apparent bytes fits, given `used` bytes already written by this copy.
 * Returns the new total when it fits, or why not.
 */
export function admitFile(
  caps: CopyBackCaps,
  used: number,
  size: number,
): { fits: true; used: number } | { fits: false; reason: "over-file-cap" | "over-total-cap" } {
  if (size > caps.maxFileBytes) return { fits: false, reason: "over-file-cap" };
  if (used + size > caps.maxTotalBytes) return { fits: false, reason: "over-total-cap" };
  return { fits: true, used: used + size };
}

/** Bytes as people read them: 10 TiB, 1.5 MiB, 512 B. */
export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${Number(v.toFixed(1))} ${units[i]}`;
}

const REASON_TEXT: Record<LeftOutReason, string> = {
  fifo: "a FIFO",
  socket: "a socket",
  device: "a device",
  "over-file-cap": "over the per-file cap",
  "over-total-cap": "over the per-task cap",
  hardlink: "a hard link to a file that did not change",
};

/** One line per entry, at most `max` of them, then "and N more". */
export function describeLeftOut(list: readonly LeftOut[], max = 10): string {
  const lines = list
    .slice(0, max)
    .map(
      (l) => `${l.path} (${REASON_TEXT[l.reason]}${l.size === undefined ? "" : `, ${formatBytes(l.size)}`})`,
    );
  if (list.length > max) lines.push(`and ${list.length - max} more`);
  return lines.join(", ");
}
