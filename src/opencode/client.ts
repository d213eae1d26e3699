/** The OpenCode SDK's client for a sandbox's server (server-handle.ts has the handle and the health wait). */
import { createOpencodeClient, type OpencodeClient } from "@opencode-ai/sdk/v2";
import { authorization, type ServerHandle } from "./server-handle.js";

export function clientFor(server: ServerHandle, directory?: string): OpencodeClient {
  return createOpencodeClient({
    baseUrl: server.url,
    ...(server.fetch ? { fetch: server.fetch } : {}),
    headers: { Authorization: authorization(server.password) },
    ...(directory ? { directory } : {}),
  });
}
