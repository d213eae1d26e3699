/**
 * One throwaway prompt on a server no task holds yet, so that the task's first prompt is the
 * server's second (executor/warm-up-provider.ts says why and what the provider is). The session is
 * deleted afterwards, whatever happened, so the task's session list never shows it.
 */
import { authorization, type ServerHandle } from "./server-handle.js";

export interface WarmUpModel {
  providerID: string;
  modelID: string;
}

async function call(
  server: ServerHandle,
  method: string,
  path: string,
  signal: AbortSignal,
  body?: unknown,
): Promise<unknown> {
  const res = await (server.fetch ?? fetch)(`${server.url}${path}`, {
    method,
    headers: {
      Authorization: authorization(server.password),
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal,
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status}`);
  return text.length > 0 ? (JSON.parse(text) as unknown) : undefined;
}

function sessionId(answer: unknown): string {
  const id = (answer as { id?: unknown } | undefined)?.id;
  if (typeof id !== "string" || !/^[A-Za-z0-9_-]{1,100}$/.test(id))
    throw new Error("POST /session: the answer has no session id");
  return id;
}

/**
 * Prompt `model` once in a new session and delete the session; resolves when it is deleted.
 * `timeoutMs` bounds the prompt; the deletion gets a few seconds of its own.
 */
export async function warmUpPrompt(
  server: ServerHandle,
  model: WarmUpModel,
  timeoutMs: number,
): Promise<void> {
  const id = sessionId(
    await call(server, "POST", "/session", AbortSignal.timeout(timeoutMs), { title: "ocbox warm-up" }),
  );
  try {
    await call(server, "POST", `/session/${id}/message`, AbortSignal.timeout(timeoutMs), {
      model,
      parts: [{ type: "text", text: "warm-up" }],
    });
  } finally {
    await call(server, "POST", `/session/${id}/abort`, AbortSignal.timeout(5_000)).catch(() => undefined);
    await call(server, "DELETE", `/session/${id}`, AbortSignal.timeout(5_000));
  }
}
