/**
 * The bounded record of one session's messages and parts, built from the server's events. The
 * agent decides how many events its server sends and how large they are, so the record holds at
 * most `maxItems` messages and parts and `maxBytes` of their JSON; past that it keeps what it has,
 * drops the rest and says so. Pure state, no I/O.
 */
import type { SessionMessage } from "../opencode/answers.js";

export interface SessionRecordLimits {
  /** Messages plus parts kept. */
  maxItems: number;
  /** Bytes of their JSON kept. */
  maxBytes: number;
}

/** Far above a real session (hundreds of parts, a few MB), far below what fills a host's memory. */
export const SESSION_RECORD_LIMITS: SessionRecordLimits = { maxItems: 20_000, maxBytes: 64 * 1024 * 1024 };

export interface Truncation {
  /** Events (message or part updates) not recorded because a limit was reached. */
  droppedEvents: number;
  limit: "items" | "bytes";
  limits: SessionRecordLimits;
}

type Entry = Record<string, unknown>;

interface Held {
  info: Entry;
  infoBytes: number;
  parts: Map<string, { part: Entry; bytes: number }>;
}

const sizeOf = (v: unknown): number => Buffer.byteLength(JSON.stringify(v) ?? "", "utf8");

export class SessionRecord {
  private readonly messages = new Map<string, Held>();
  private items = 0;
  private bytes = 0;
  private truncation: Truncation | undefined;

  constructor(private readonly limits: SessionRecordLimits = SESSION_RECORD_LIMITS) {}

  /** Whether `added` more items and `grow` more bytes fit; records the drop when not. */
  private fits(added: number, grow: number): boolean {
    const limit =
      this.items + added > this.limits.maxItems
        ? "items"
        : this.bytes + grow > this.limits.maxBytes
          ? "bytes"
          : undefined;
    if (!limit) return true;
    this.truncation ??= { droppedEvents: 0, limit, limits: this.limits };
    this.truncation.droppedEvents++;
    return false;
  }

  /** A message's info, new or updated. */
  message(id: string, info: Entry): void {
    const held = this.messages.get(id);
    const bytes = sizeOf(info);
    if (!this.fits(held ? 0 : 1, bytes - (held?.infoBytes ?? 0))) return;
    this.bytes += bytes - (held?.infoBytes ?? 0);
    if (held) {
      held.info = info;
      held.infoBytes = bytes;
      return;
    }
    this.items++;
    this.messages.set(id, { info, infoBytes: bytes, parts: new Map() });
  }

  /** A part, new or updated; a part of a message not seen yet makes a stub message. */
  part(messageId: string, partId: string, part: Entry): void {
    const held = this.messages.get(messageId);
    const old = held?.parts.get(partId);
    const bytes = sizeOf(part);
    const stub = { id: messageId };
    const stubBytes = held ? 0 : sizeOf(stub);
    const added = (held ? 0 : 1) + (old ? 0 : 1);
    if (!this.fits(added, bytes - (old?.bytes ?? 0) + stubBytes)) return;
    this.items += added;
    this.bytes += bytes - (old?.bytes ?? 0) + stubBytes;
    const target = held ?? { info: stub, infoBytes: stubBytes, parts: new Map() };
    target.parts.set(partId, { part, bytes });
    if (!held) this.messages.set(messageId, target);
  }

  /** What was recorded, in arrival order, and the truncation if a limit was hit. */
  snapshot(): { messages: SessionMessage[]; truncated: Truncation | undefined } {
    return {
      messages: [...this.messages.values()].map((m) => ({
        info: m.info,
        parts: [...m.parts.values()].map((p) => p.part as SessionMessage["parts"][number]),
      })),
      truncated: this.truncation ? { ...this.truncation } : undefined,
    };
  }
}
