/**
 * The agent's session as OpenCode holds it (info and every message with its parts), exported
 * from the sandbox's server before the sandbox is removed; and the tool-call timeline the report
 * shows, taken from it.
 */
import type { OpencodeClient } from "@opencode-ai/sdk/v2";
import { setTimeout as sleep } from "node:timers/promises";
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
  z.object({
    type: z.literal("session.updated"),
    properties: z.looseObject({ info: z.looseObject({ id: z.string().min(1) }) }),
  }),
]);

const assistantInfo = z.looseObject({
  role: z.literal("assistant"),
  time: z.looseObject({ completed: z.number().optional() }).optional(),
});

/**
 * Whether a recorded session has ended its turn: at least one assistant message, and every one
 * completed. Events come in order on one stream, so a completed message's parts came before it. Pure.
 */
export function recordSettled(messages: readonly Pick<SessionMessage, "info">[]): boolean {
  let assistant = 0;
  for (const m of messages) {
    const a = assistantInfo.safeParse(m.info);
    if (!a.success) continue;
    assistant++;
    if (a.data.time?.completed === undefined) return false;
  }
  return assistant > 0;
}

/** Session info above this size is not kept from the stream (the export asks the server instead). */
const MAX_INFO_BYTES = 1024 * 1024;
/** How long the export waits for the stream to catch up with the turn that just ended. */
const SETTLE_MS = 500;

/**
 * Records a session's messages, parts and info from the event stream, bounded (session-record.ts).
 * The export is that record when the stream has seen the turn end (no server round trip: on a
 * loaded machine the server answered in 0.1–6.8 s, taking CPU from the next unit's sandbox), and
 * otherwise the server's. Its message list (`GET /session/{id}/message`) answers 400 for a
 * session prompted with a JSON-schema format (OpenCode 1.18, "Expected OutputFormatJsonSchema"),
 * so that path falls back to the record too.
 */
export function recordSession(
  client: OpencodeClient,
  sessionId: string,
  limits: SessionRecordLimits = SESSION_RECORD_LIMITS,
  settleMs = SETTLE_MS,
) {
  const record = new SessionRecord(limits);
  const controller = new AbortController();
  let info: unknown = null;
  const onEvent = (e: z.infer<typeof recordedEvent>) => {
    if (e.type === "session.updated") {
      const i = e.properties.info;
      if (i.id === sessionId && JSON.stringify(i).length <= MAX_INFO_BYTES) info = i;
    } else if (e.type === "message.updated") {
      const i = e.properties.info;
      if (i.sessionID === sessionId) record.message(i.id, i);
    } else {
      const { part } = e.properties;
      if (part.sessionID === sessionId) record.part(part.messageID, part.id, part);
    }
  };
  void (async () => {
    try {
      const sub = await client.event.subscribe({}, { signal: controller.signal, sseMaxRetryAttempts: 3 });
      for await (const raw of sub.stream as AsyncIterable<unknown>) {
        const e = recordedEvent.safeParse(raw);
        if (e.success) onEvent(e.data);
      }
    } catch {
      // the stream ends with the sandbox
    }
  })();
  const fromRecord = (served?: unknown): SessionExport => {
    const { messages, truncated } = record.snapshot();
    return { info: served ?? info, messages, ...(truncated ? { truncated } : {}) };
  };
  return {
    stop: () => controller.abort(),
    async export(): Promise<SessionExport> {
      for (const t = performance.now(); performance.now() - t < settleMs;) {
        if (info !== null && recordSettled(record.snapshot().messages)) return fromRecord();
        await sleep(20);
      }
      const served = await exportSession(client, sessionId).catch(() => undefined);
      if (served && served.messages.length > 0) return served;
      return fromRecord(served?.info);
    },
  };
}
