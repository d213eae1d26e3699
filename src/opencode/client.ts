import { createOpencodeClient, type OpencodeClient } from "@opencode-ai/sdk/v2";
import { setTimeout as sleep } from "node:timers/promises";
import { OcboxError } from "../errors.js";
import { checkAnswer, healthSchema } from "./answers.js";

export const SERVER_USERNAME = "opencode";

/** The Authorization header for the server's basic auth (the SDK's `auth` option does nothing). */
export function authorization(password: string, username = SERVER_USERNAME): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`;
}

export interface ServerHandle {
  /** http://127.0.0.1:PORT, no credentials in it. */
  url: string;
  password: string;
  /** How to reach `url` when it is not a port here (exec relays over the engine); global fetch otherwise. */
  fetch?: typeof fetch;
}

export function clientFor(server: ServerHandle, directory?: string): OpencodeClient {
  return createOpencodeClient({
    baseUrl: server.url,
    ...(server.fetch ? { fetch: server.fetch } : {}),
    headers: { Authorization: authorization(server.password) },
    ...(directory ? { directory } : {}),
  });
}

export interface WaitOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  /** Called between attempts; throw to stop waiting (the container died, say). */
  check?: () => Promise<void>;
}

/**
 * Poll the health route with a short per-request timeout until it answers 200. A request that
 * connects before the server is listening can hang forever (OPENCODE-NOTES, readiness trap), so
 * no single request may wait long.
 */
export async function waitHealthy(server: ServerHandle, options: WaitOptions): Promise<{ version: string }> {
  const client = clientFor(server);
  const deadline = Date.now() + options.timeoutMs;
  let last = "no answer yet";
  while (Date.now() < deadline) {
    options.signal?.throwIfAborted();
    await options.check?.();
    try {
      const result = await client.global.health({ signal: AbortSignal.timeout(2000) });
      if (result.data?.healthy)
        return { version: checkAnswer(healthSchema, result.data, "the health check").version };
      last = `HTTP ${result.response.status}`;
    } catch (e) {
      last = e instanceof Error ? e.message : String(e);
    }
    await sleep(100);
  }
  throw new OcboxError(
    "SANDBOX_NOT_READY",
    `the OpenCode server did not answer its health check in ${options.timeoutMs / 1000} s`,
    {
      detail: `last attempt: ${last}`,
    },
  );
}
