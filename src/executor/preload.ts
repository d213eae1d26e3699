/**
 * Loading OpenCode's instance ahead of the first prompt. On a new server, the first request for a
 * directory loads its instance (config, plugins, providers): 1-3 s on 2 cores (BENCHMARKS.md).
 * `GET /config/providers` triggers that load, creates nothing, and answers with the configured
 * providers only (a few KB). `GET /provider` loads the same but answers with every provider of
 * the models catalogue (6 MB), which cost the agent about 1 s of CPU more per sandbox.
 *
 * The warm pool preloads while a sandbox waits for a task. A cold task does not: a preload running
 * next to the task's own session and prompt made the cold task slower on 2 cores (BENCHMARKS.md).
 */
import { authorization, type ServerHandle } from "../opencode/server-handle.js";

/** One request to the server with a bounded wait; throws on a non-2xx answer. */
export async function serverCall(server: ServerHandle, method: string, path: string): Promise<void> {
  const res = await (server.fetch ?? fetch)(`${server.url}${path}`, {
    method,
    headers: { Authorization: authorization(server.password) },
    signal: AbortSignal.timeout(30_000),
  });
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status}`);
}

/** Load the /workspace instance and its providers now. */
export function preloadInstance(server: ServerHandle): Promise<void> {
  return serverCall(server, "GET", "/config/providers");
}
