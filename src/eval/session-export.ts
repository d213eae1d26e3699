/**
 * The agent's session as OpenCode holds it (info and every message with its parts), exported
 * from the sandbox's server before the sandbox is removed; and the tool-call timeline the report
 * shows, taken from it.
 */
import type { OpencodeClient } from "@opencode-ai/sdk/v2";

export interface SessionExport {
  info: unknown;
  messages: Array<{ info: Record<string, unknown>; parts: Array<Record<string, unknown>> }>;
}

export async function exportSession(client: OpencodeClient, sessionId: string): Promise<SessionExport> {
  const [info, messages] = await Promise.all([
    client.session.get({ sessionID: sessionId }),
    client.session.messages({ sessionID: sessionId }),
  ]);
  return {
    info: info.data ?? null,
    messages: (messages.data ?? []) as unknown as SessionExport["messages"],
  };
}

export interface TimelineEntry {
  tool: string;
  status: string;
  title: string;
  /** Seconds since the session's first message. */
  at: number | null;
  seconds: number | null;
}

/** Every tool call in order: name, status, title, start and duration. Pure. */
export function toolTimeline(exported: Pick<SessionExport, "messages"> | undefined): TimelineEntry[] {
  const out: TimelineEntry[] = [];
  let t0: number | undefined;
  for (const m of exported?.messages ?? []) {
    const created = (m.info.time as { created?: number } | undefined)?.created;
    t0 ??= created;
    for (const p of m.parts) {
      if (p.type !== "tool") continue;
      const state = (p.state ?? {}) as {
        status?: string;
        title?: string;
        time?: { start?: number; end?: number };
      };
      const start = state.time?.start;
      const end = state.time?.end;
      out.push({
        tool: typeof p.tool === "string" ? p.tool : "?",
        status: state.status ?? "?",
        title: state.title ?? "",
        at: start !== undefined && t0 !== undefined ? (start - t0) / 1000 : null,
        seconds: start !== undefined && end !== undefined ? (end - start) / 1000 : null,
      });
    }
  }
  return out;
}

interface RecordedEvent {
  type?: string;
  properties?: {
    info?: Record<string, unknown> & { id?: string; sessionID?: string };
    part?: Record<string, unknown> & { id?: string; messageID?: string; sessionID?: string };
  };
}

/**
 * Records a session's messages and parts from the event stream. The server's own message list
 * (`GET /session/{id}/message`) answers 400 for a session prompted with a JSON-schema format
 * (OpenCode 1.18, "Expected OutputFormatJsonSchema"), so the export falls back to this record.
 */
export function recordSession(client: OpencodeClient, sessionId: string) {
  const messages = new Map<
    string,
    { info: Record<string, unknown>; parts: Map<string, Record<string, unknown>> }
  >();
  const controller = new AbortController();
  void (async () => {
    try {
      const sub = await client.event.subscribe({}, { signal: controller.signal, sseMaxRetryAttempts: 3 });
      for await (const raw of sub.stream as AsyncIterable<RecordedEvent>) {
        const { info, part } = raw.properties ?? {};
        if (raw.type === "message.updated" && info?.id && info.sessionID === sessionId) {
          const m = messages.get(info.id);
          if (m) m.info = info;
          else messages.set(info.id, { info, parts: new Map() });
        }
        if (
          raw.type === "message.part.updated" &&
          part?.id &&
          part.messageID &&
          part.sessionID === sessionId
        ) {
          const m = messages.get(part.messageID) ?? { info: { id: part.messageID }, parts: new Map() };
          m.parts.set(part.id, part);
          messages.set(part.messageID, m);
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
      return {
        info: served?.info ?? null,
        messages: [...messages.values()].map((m) => ({ info: m.info, parts: [...m.parts.values()] })),
      };
    },
  };
}
