/**
 * The agent's session as OpenCode holds it (info and every message with its parts), exported
 * from the sandbox's server before the sandbox is removed; and the tool-call timeline the report
 * shows, taken from it.
 */
import type { OpencodeClient } from "@opencode-ai/sdk/v2";
import { z } from "zod";
import { sessionMessageSchema, toolPartSchema, type SessionMessage } from "../opencode/answers.js";
import {
  SESSION_RECORD_LIMITS,
  SessionRecord,
  type SessionRecordLimits,
  type Truncation,
} from "./session-record.js";

export interface SessionExport {
  info: unknown;
  messages: SessionMessage[];
  /** Set when the export hit a limit of SESSION_RECORD_LIMITS and left the rest out. */
  truncated?: Truncation;
  /** Messages the server sent in a shape ocbox does not read, left out. */
  invalidMessages?: number;
}

/** The server's messages checked one by one and capped like the event record. Pure. */
export function checkedMessages(
  raw: unknown,
  limits: SessionRecordLimits = SESSION_RECORD_LIMITS,
): Pick<SessionExport, "messages" | "truncated" | "invalidMessages"> {
  const record = new SessionRecord(limits);
  let invalid = 0;
  const list = Array.isArray(raw) ? (raw as unknown[]) : [];
  list.forEach((m, i) => {
    const parsed = sessionMessageSchema.safeParse(m);
    if (!parsed.success) return void invalid++;
    const id = parsed.data.info.id ?? `#${i}`;
    record.message(id, parsed.data.info);
    parsed.data.parts.forEach((p, j) => record.part(id, `#${j}`, p));
  });
  const { messages, truncated } = record.snapshot();
  return { messages, ...(truncated ? { truncated } : {}), ...(invalid ? { invalidMessages: invalid } : {}) };
}

export async function exportSession(client: OpencodeClient, sessionId: string): Promise<SessionExport> {
  const [info, messages] = await Promise.all([
    client.session.get({ sessionID: sessionId }),
    client.session.messages({ sessionID: sessionId }),
  ]);
  return { info: info.data ?? null, ...checkedMessages(messages.data ?? []) };
}

export interface TimelineEntry {
  tool: string;
  status: string;
  title: string;
  /** Seconds since the session's first message. */
  at: number | null;
  seconds: number | null;
}

/** Every tool call in order: name, status, title, start and duration. Pure; a part of the wrong shape is skipped. */
export function toolTimeline(exported: Pick<SessionExport, "messages"> | undefined): TimelineEntry[] {
  const out: TimelineEntry[] = [];
  let t0: number | undefined;
  const messages: unknown[] = Array.isArray(exported?.messages) ? exported.messages : [];
  for (const raw of messages) {
    const m = sessionMessageSchema.safeParse(raw);
    if (!m.success) continue;
    t0 ??= m.data.info.time?.created;
    for (const p of m.data.parts) {
      const tool = toolPartSchema.safeParse(p);
      if (!tool.success) continue;
      const state = tool.data.state ?? {};
      const start = state.time?.start;
      const end = state.time?.end;
      out.push({
        tool: tool.data.tool,
        status: state.status ?? "?",
        title: state.title ?? "",
        at: start !== undefined && t0 !== undefined ? (start - t0) / 1000 : null,
        seconds: start !== undefined && end !== undefined ? (end - start) / 1000 : null,
      });
    }
  }
  return out;
}

const entry = z.looseObject({ id: z.string().min(1), sessionID: z.string() });
const recordedEvent = z.union([
  z.object({ type: z.literal("message.updated"), properties: z.looseObject({ info: entry }) }),
  z.object({
    type: z.literal("message.part.updated"),
    properties: z.looseObject({ part: entry.extend({ messageID: z.string().min(1), type: z.string() }) }),
  }),
]);

/**
 * Records a session's messages and parts from the event stream, bounded (session-record.ts). The
 * server's own message list (`GET /session/{id}/message`) answers 400 for a session prompted with
 * a JSON-schema format (OpenCode 1.18, "Expected OutputFormatJsonSchema"), so the export falls
 * back to this record.
 */
export function recordSession(
  client: OpencodeClient,
  sessionId: string,
  limits: SessionRecordLimits = SESSION_RECORD_LIMITS,
) {
  const record = new SessionRecord(limits);
  const controller = new AbortController();
  void (async () => {
    try {
      const sub = await client.event.subscribe({}, { signal: controller.signal, sseMaxRetryAttempts: 3 });
      for await (const raw of sub.stream as AsyncIterable<unknown>) {
        const e = recordedEvent.safeParse(raw);
        if (!e.success) continue;
        if (e.data.type === "message.updated") {
          const { info } = e.data.properties;
          if (info.sessionID === sessionId) record.message(info.id, info);
        } else {
          const { part } = e.data.properties;
          if (part.sessionID === sessionId) record.part(part.messageID, part.id, part);
        }
      }
    } catch {
      // the stream ends with the sandbox
    }
  })();
  return {
    stop: () => controller.abort(),
    async export(): Promise<SessionExport> {
      const served = await exportSession(client, sessionId).catch(() => undefined);
      if (served && served.messages.length > 0) return served;
      const { messages, truncated } = record.snapshot();
      return { info: served?.info ?? null, messages, ...(truncated ? { truncated } : {}) };
    },
  };
}
