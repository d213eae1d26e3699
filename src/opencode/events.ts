/**
 * A session's activity from the server's event stream (SSE): every part update, text delta, tool
 * state change or status counts as activity; `session.status{retry}` carries the provider's
 * error while OpenCode retries it, which lets a caller stop early on a fatal one.
 */
import type { OpencodeClient } from "@opencode-ai/sdk/v2";
import { retryStatusSchema } from "./answers.js";
import { askFromEvent, type PermissionAsk } from "./permissions.js";

export interface SessionWatch {
  /** Resolves once the server confirmed the subscription (or the stream failed). */
  ready: Promise<void>;
  stop(): void;
}

export interface WatchHandlers {
  onActivity?: (type: string) => void;
  onRetry?: (status: { attempt: number; message: string; next: number }) => void;
  /** An assistant message appeared: the server is starting a model call for this session. */
  onAssistantMessage?: () => void;
  onError?: (error: unknown) => void;
  /**
   * A `permission.asked` of any session on the server (the task's own or a sub-agent's): the
   * asking session waits until someone replies.
   */
  onPermissionAsked?: (ask: PermissionAsk) => void;
  /**
   * The stream (re)connected; `count` is 1 the first time. Events sent while it was away are
   * lost, so a caller re-reads what it must not miss (pending permission asks).
   */
  onConnected?: (count: number) => void;
}

interface RawEvent {
  type?: string;
  properties?: {
    sessionID?: string;
    status?: unknown;
    part?: { sessionID?: string };
    info?: { sessionID?: string; role?: unknown };
  };
}

function sessionOf(e: RawEvent): string | undefined {
  return e.properties?.sessionID ?? e.properties?.part?.sessionID ?? e.properties?.info?.sessionID;
}

/**
 * Watch `sessionId`'s events. It may be a promise (the session being created while the stream
 * connects): events that arrive before it settles belong to no session of ours yet.
 */
export function watchSession(
  client: OpencodeClient,
  sessionId: string | Promise<string>,
  handlers: WatchHandlers,
): SessionWatch {
  let id = typeof sessionId === "string" ? sessionId : undefined;
  if (typeof sessionId !== "string")
    sessionId.then(
      (v) => (id = v),
      () => undefined,
    );
  const controller = new AbortController();
  let markReady!: () => void;
  const ready = new Promise<void>((r) => (markReady = r));
  let connections = 0;
  void (async () => {
    try {
      const sub = await client.event.subscribe(
        {},
        {
          signal: controller.signal,
          sseMaxRetryAttempts: 3,
        },
      );
      for await (const raw of sub.stream as AsyncIterable<RawEvent>) {
        if (controller.signal.aborted) break;
        if (raw.type === "server.connected") {
          markReady();
          handlers.onConnected?.(++connections);
        }
        // Asks of every session on this server: a sub-agent's session waits for its reply too.
        const ask = raw.type === "permission.asked" ? askFromEvent(raw.properties) : undefined;
        if (ask) handlers.onPermissionAsked?.(ask);
        if (id === undefined || sessionOf(raw) !== id) continue;
        const retry =
          raw.type === "session.status" ? retryStatusSchema.safeParse(raw.properties?.status) : undefined;
        if (retry?.success) {
          const { attempt, message, next } = retry.data;
          handlers.onRetry?.({ attempt, message, next });
        }
        if (raw.type === "message.updated" && raw.properties?.info?.role === "assistant")
          handlers.onAssistantMessage?.();
        handlers.onActivity?.(raw.type ?? "event");
      }
    } catch (e) {
      markReady();
      if (!controller.signal.aborted) handlers.onError?.(e);
    }
  })();
  return { ready, stop: () => controller.abort() };
}
