/**
 * How this process reaches a sandbox's OpenCode server, and the wait until it answers. No SDK
 * here: `ocbox up` needs only the health route, and the SDK's first client builds a `Headers`,
 * which loads Node's whole fetch stack (about 25 ms of `up`'s start, measured with --cpu-prof).
 * The SDK client is `clientFor` in client.ts.
 */
import { request } from "node:http";
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

export interface WaitOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  /** Called after an attempt that got no healthy answer; throw to stop waiting (the container died, say). */
  check?: () => Promise<void>;
}

/** The health answer may be small; anything longer is not OpenCode's. */
const MAX_HEALTH_BYTES = 64 * 1024;

/** One GET of the health route: its status and body text. */
async function getHealth(
  server: ServerHandle,
  signal: AbortSignal,
): Promise<{ status: number; body: string }> {
  const url = `${server.url}/global/health`;
  const headers = { Authorization: authorization(server.password) };
  if (server.fetch) {
    const res = await server.fetch(url, { headers, signal });
    return { status: res.status, body: await cappedText(res, signal) };
  }
  return new Promise((resolve, reject) => {
    const req = request(url, { headers, signal, agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
        if (body.length > MAX_HEALTH_BYTES) res.destroy(new Error("the health answer is too long"));
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

/** A response's text, refused past MAX_HEALTH_BYTES: the server is the agent's to replace. */
async function cappedText(res: Response, signal: AbortSignal): Promise<string> {
  const reader = (res.body as ReadableStream<Uint8Array> | null)?.getReader();
  if (!reader) return "";
  const decoder = new TextDecoder();
  let text = "";
  for (;;) {
    signal.throwIfAborted();
    const { done, value } = await reader.read();
    if (done) return text + decoder.decode();
    text += decoder.decode(value, { stream: true });
    if (text.length > MAX_HEALTH_BYTES) {
      await reader.cancel();
      throw new Error("the health answer is too long");
    }
  }
}

/**
 * Poll the health route with a short per-request timeout until it answers 200. A request that
 * connects before the server is listening can hang forever (OPENCODE-NOTES, readiness trap), so
 * no single request may wait long.
 */
export async function waitHealthy(server: ServerHandle, options: WaitOptions): Promise<{ version: string }> {
  const deadline = Date.now() + options.timeoutMs;
  let last = "no answer yet";
  while (Date.now() < deadline) {
    options.signal?.throwIfAborted();
    try {
      const { status, body } = await getHealth(server, AbortSignal.timeout(2000));
      const data: unknown = status === 200 ? JSON.parse(body) : undefined;
      if (typeof data === "object" && data !== null && (data as { healthy?: unknown }).healthy === true)
        return { version: checkAnswer(healthSchema, data, "the health check").version };
      last = `HTTP ${status}`;
    } catch (e) {
      last = e instanceof Error ? e.message : String(e);
    }
    // Checked after a miss, not before each try: a server that answers needs no engine round.
    await options.check?.();
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
