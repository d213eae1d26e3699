/**
 * The run journal: one JSON line per event, appended and fsync'd before the work it records goes
 * on, so a crash (kill -9) loses at most the units in flight. Reading tolerates a torn last line.
 */
import { closeSync, fsyncSync, openSync, writeSync } from "node:fs";
import { readFile } from "node:fs/promises";

export type JournalEntry =
  | { type: "open"; at: string; pid: number; configDigest: string }
  | { type: "begin"; at: string; unit: string }
  /** Ctrl+C (or SIGTERM) stopped the unit; its sandbox was removed. It reruns at the next start. */
  | { type: "interrupt"; at: string; unit: string }
  | {
      type: "end";
      at: string;
      unit: string;
      /** The task digest the result belongs to. */
      digest: string;
      outcome: string;
      failureReason: string | null;
      infra: boolean;
    };

export class Journal {
  private readonly fd: number;
  constructor(readonly file: string) {
    this.fd = openSync(file, "a", 0o600);
  }
  append(entry: JournalEntry): void {
    writeSync(this.fd, `${JSON.stringify(entry)}\n`);
    fsyncSync(this.fd);
  }
  close(): void {
    closeSync(this.fd);
  }
}

export async function readJournal(file: string): Promise<JournalEntry[]> {
  const text = await readFile(file, "utf8").catch(() => "");
  const out: JournalEntry[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as JournalEntry);
    } catch {
      // A line torn by a crash mid-write: the unit it recorded is simply not finished.
    }
  }
  return out;
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
