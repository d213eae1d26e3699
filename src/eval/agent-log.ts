/**
 * Live agent activity (`--agent-logs`) from the server's event stream, and the `--verbose`
 * heartbeat. `describeEvent` is pure: one event in, one log line (or nothing) out.
 */
import type { OpencodeClient } from "@opencode-ai/sdk/v2";
import { errorMessage } from "../errors.js";
import { checkedMessages } from "./session-export.js";

interface RawEvent {
  type?: string;
  properties?: {
    sessionID?: string;
    info?: { id?: string; sessionID?: string; title?: string };
    part?: {
      sessionID?: string;
      type?: string;
      tool?: string;
      callID?: string;
      state?: { status?: string; title?: string };
    };
    status?: { type?: string; attempt?: number; message?: string };
    error?: { name?: string; data?: { message?: string } };
  };
}

function sessionOf(e: RawEvent): string | undefined {
  const p = e.properties;
  return (
    p?.sessionID ??
    p?.part?.sessionID ??
    p?.info?.sessionID ??
    (typeof e.type === "string" && e.type.startsWith("session.") ? p?.info?.id : undefined)
  );
}

/** The line for an event of `sessionId`, or undefined for events not worth a line. Pure. */
export function describeEvent(raw: unknown, sessionId: string): string | undefined {
  const e = raw as RawEvent;
  if (sessionOf(e) !== sessionId) return undefined;
  const p = e.properties ?? {};
  switch (e.type) {
    case "session.created":
      return `session created ${sessionId}`;
    case "session.idle":
      return "session idle";
    case "session.error":
      return `session error: ${p.error?.name ?? "error"}${p.error?.data?.message ? `: ${p.error.data.message}` : ""}`;
    case "session.status":
      if (p.status?.type === "retry")
        return `provider retry ${p.status.attempt ?? "?"}: ${p.status.message ?? ""}`;
      return p.status?.type ? `session ${p.status.type}` : undefined;
    case "message.part.updated": {
      const part = p.part;
      if (part?.type !== "tool") return undefined;
      const status = part.state?.status ?? "?";
      if (status === "pending") return undefined;
      return `tool ${part.tool ?? "?"} ${status}${part.state?.title ? `: ${part.state.title}` : ""}`;
    }
    case undefined:
    default:
      return undefined;
  }
}

/** Subscribe to the server's events and print the session's activity; returns a stop function. */
export function streamAgentLog(
  client: OpencodeClient,
  sessionId: string,
  onLine: (line: string) => void,
): () => void {
  const controller = new AbortController();
  const seen = new Set<string>();
  void (async () => {
    try {
      const sub = await client.event.subscribe({}, { signal: controller.signal, sseMaxRetryAttempts: 3 });
      for await (const raw of sub.stream as AsyncIterable<unknown>) {
        if (controller.signal.aborted) break;
        const line = describeEvent(raw, sessionId);
        // Tool parts are re-sent on every update; print each state change once.
        const part = (raw as RawEvent).properties?.part;
        const key = part?.callID ? `${part.callID}:${part.state?.status}` : undefined;
        if (!line || (key && seen.has(key))) continue;
        if (key) seen.add(key);
        onLine(line);
      }
    } catch (e) {
      if (!controller.signal.aborted) onLine(`event stream ended: ${errorMessage(e)}`);
    }
  })();
  return () => controller.abort();
}

/** Latest activity of a message list, in words: tool running, text, error. Pure. */
export function latestActivity(
  messages: Array<{ info: Record<string, unknown>; parts: Array<Record<string, unknown>> }>,
): string {
  const last = messages.at(-1);
  if (!last) return "no messages";
  const error = last.info.error as { name?: string } | undefined;
  if (error) return `error ${error.name ?? ""}`.trim();
  const part = last.parts.at(-1);
  if (!part) return `${typeof last.info.role === "string" ? last.info.role : "message"} (empty)`;
  if (part.type === "tool") {
    const state = part.state as { status?: string } | undefined;
    return `tool ${typeof part.tool === "string" ? part.tool : "?"} ${state?.status ?? ""}`.trim();
  }
  if (part.type === "text") return `text (${typeof part.text === "string" ? part.text.length : 0} chars)`;
  return String(part.type);
}

/** Every `intervalMs`: session status, message count, latest activity. */
export function startHeartbeat(
  client: OpencodeClient,
  sessionId: string,
  onLine: (line: string) => void,
  intervalMs = 3000,
): () => void {
  const timer = setInterval(() => {
    void (async () => {
      const [status, messages] = await Promise.all([
        client.session.status().catch(() => undefined),
        client.session.messages({ sessionID: sessionId }).catch(() => undefined),
      ]);
      const s = (status?.data as Record<string, { type?: string }> | undefined)?.[sessionId]?.type ?? "idle";
      // Checked and capped: the server's answer is the agent's to shape (session-export.ts).
      const list = checkedMessages(messages?.data ?? []).messages;
      onLine(`heartbeat: status ${s}, ${list.length} message(s), latest: ${latestActivity(list)}`);
    })();
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
