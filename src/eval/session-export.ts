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
