/**
 * The run journal: one JSON line per event, appended and fsync'd before the work it records goes
 * on, so a crash (kill -9) loses at most the units in flight. Reading tolerates a torn last line.
 */
import { closeSync, fstatSync, fsyncSync, ftruncateSync, openSync, readSync, writeSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { z } from "zod";
import { OcboxError, errorMessage } from "../errors.js";
import { parseVersioned } from "../util/versioned-file.js";

/** The journal's format; the `open` entry carries it (absent: written before versions, read as 1). */
export const JOURNAL_VERSION = 1;

const at = z.string().min(1);
const unit = z.string().min(1);
const entrySchema = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("open"),
    version: z.literal(JOURNAL_VERSION).default(JOURNAL_VERSION),
    at,
    pid: z.number().int(),
    configDigest: z.string(),
  }),
  z.object({ type: z.literal("begin"), at, unit }),
  /** Ctrl+C (or SIGTERM) stopped the unit; its sandbox was removed. It reruns at the next start. */
  z.object({ type: z.literal("interrupt"), at, unit }),
  z.object({
    type: z.literal("end"),
    at,
    unit,
    /** The task digest the result belongs to. */
    digest: z.string(),
    outcome: z.string(),
    failureReason: z.string().nullable(),
    infra: z.boolean(),
  }),
]);

export type JournalEntry = z.infer<typeof entrySchema>;
/** What `append` takes: the `open` entry's version is filled in. */
export type JournalInput =
  | (Omit<Extract<JournalEntry, { type: "open" }>, "version"> & { version?: number })
  | Exclude<JournalEntry, { type: "open" }>;

/**
 * A line cut short by a crash (no newline after it) is cut off before the first append, so the
 * next entry starts on a line of its own instead of continuing the torn one. parseJournal has
 * already dropped that line with a warning.
 */
function dropTornTail(fd: number): void {
  const size = fstatSync(fd).size;
  if (size === 0) return;
  const tail = Buffer.alloc(Math.min(size, 64 * 1024));
  let end = size;
  while (end > 0) {
    const start = Math.max(0, end - tail.length);
    const n = readSync(fd, tail, 0, end - start, start);
    const chunk = tail.subarray(0, n);
    if (end === size && chunk[chunk.length - 1] === 0x0a) return;
    const nl = chunk.lastIndexOf(0x0a);
    if (nl >= 0) return ftruncateSync(fd, start + nl + 1);
    end = start;
  }
  ftruncateSync(fd, 0);
}

export class Journal {
  private readonly fd: number;
  constructor(readonly file: string) {
    this.fd = openSync(file, "a+", 0o600);
    dropTornTail(this.fd);
  }
  append(entry: JournalInput): void {
    const line = entry.type === "open" ? { ...entry, version: JOURNAL_VERSION } : entry;
    writeSync(this.fd, `${JSON.stringify(line)}\n`);
    fsyncSync(this.fd);
  }
  close(): void {
    closeSync(this.fd);
  }
}

/** What to do about a damaged journal; the results stay where they are. */
function journalFix(file: string, line: number): string {
  return [
    `ocbox changed nothing: the journal and every unit's results next to it are as they were.`,
    `Repair line ${line} of ${file}, or delete that line (its unit then reruns), and run the same command again;`,
    "or give --output a new folder for a fresh run.",
  ].join("\n");
}

/**
 * The journal's entries. Pure. Only a torn last line is dropped (a crash mid-write: no newline
 * after it, and it starts like an entry), with a warning; any other bad line is an error naming
 * the file and the line, so a damaged journal never makes every unit rerun.
 */
export function parseJournal(
  text: string,
  file: string,
  onWarning: (w: string) => void = () => {},
): JournalEntry[] {
  const lines = text.split("\n");
  const torn = lines.at(-1) ?? "";
  const out: JournalEntry[] = [];
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    const where = `${file} line ${i + 1}`;
    const fix = journalFix(file, i + 1);
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      if (i === lines.length - 1 && line === torn && line.startsWith('{"type":')) {
        onWarning(`${where}: dropped a line cut short by a crash; the unit it recorded reruns`);
        return;
      }
      throw new OcboxError("CONFIG", `${where}: the run journal is damaged (not a JSON entry)`, {
        detail: line.slice(0, 200),
        fix,
      });
    }
    out.push(
      parseVersioned(entrySchema, value, { where, what: "run journal", current: JOURNAL_VERSION, fix }),
    );
  });
  return out;
}

/** Read the journal; none yet is an empty one. An unreadable file is an error, never "no results". */
export async function readJournal(file: string, onWarning?: (w: string) => void): Promise<JournalEntry[]> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return [];
    throw new OcboxError("CONFIG", `cannot read the run journal ${file}: ${code ?? errorMessage(e)}`, {
      cause: e,
      fix: "Check the file and its folder's permissions (they must be yours); ocbox changed nothing in the output folder.",
    });
  }
  return parseJournal(text, file, onWarning);
}

export interface UnitState {
  finished: Map<string, Extract<JournalEntry, { type: "end" }>>;
  /** Begun and never ended (killed), or stopped by an interrupt: rerun at the next start. */
  interrupted: Set<string>;
}

/** Fold the journal into what is finished and what was interrupted. Pure. */
export function journalState(entries: readonly JournalEntry[]): UnitState {
  const finished = new Map<string, Extract<JournalEntry, { type: "end" }>>();
  const begun = new Set<string>();
  for (const e of entries) {
    if (e.type === "begin") {
      begun.add(e.unit);
      finished.delete(e.unit);
    }
    // An interrupt entry leaves the unit begun: it is not finished.
    if (e.type === "end") {
      begun.delete(e.unit);
      finished.set(e.unit, e);
    }
  }
  return { finished, interrupted: begun };
}
