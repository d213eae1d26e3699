/**
 * Requests to `ocbox serve` with node:http (not fetch: Node's fetch costs ~70 ms to load, which a
 * handed-over `ocbox run` would pay on every task). Every request carries the bearer token and
 * this ocbox's version.
 */
import { request, type IncomingMessage } from "node:http";
import { OCBOX_VERSION } from "../version.js";
import { VERSION_HEADER } from "./protocol.js";

export interface ServiceEndpoint {
  url: string;
  token: string;
}

/** The answer's head and body stream; the caller reads (or streams) it. Connection errors reject. */
export function serviceRequest(
  to: ServiceEndpoint,
  method: "GET" | "POST",
  path: string,
  body?: unknown,
): Promise<IncomingMessage> {
  const data = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(`${to.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${to.token}`,
        [VERSION_HEADER]: OCBOX_VERSION,
        ...(data !== undefined
          ? { "content-type": "application/json", "content-length": Buffer.byteLength(data) }
          : {}),
      },
    });
    req.once("response", resolve);
    req.once("error", reject);
    req.end(data);
  });
}

/** The whole body, parsed as JSON. */
export async function jsonBody<T>(res: IncomingMessage): Promise<T> {
  const chunks: Buffer[] = [];
  for await (const chunk of res as AsyncIterable<Buffer>) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString("utf8")) as T;
}

/** Server-Sent Events from a response: each `event:`/`data:` block, data parsed as JSON. */
export async function* sseEvents(res: IncomingMessage): AsyncGenerator<{ event: string; data: unknown }> {
  let buffer = "";
  res.setEncoding("utf8");
  for await (const chunk of res as AsyncIterable<string>) {
    buffer += chunk;
    let end: number;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = "message";
      let data = "";
      for (const line of block.split("\n")) {
        if (line.startsWith("event: ")) event = line.slice(7);
        else if (line.startsWith("data: ")) data += line.slice(6);
      }
      if (data !== "") yield { event, data: JSON.parse(data) as unknown };
    }
  }
}
