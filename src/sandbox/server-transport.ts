/**
 * How this process reaches a sandbox's OpenCode server (ARCHITECTURE decision 9):
 *   - "port": the sidecar publishes its relay on 127.0.0.1 of the engine's host (fastest, and
 *     only useful when that host's loopback is this process's);
 *   - "exec": every connection is an exec'd relay in the egress sidecar (`socat -` to the
 *     sidecar's own server relay), carried over the engine connection. Nothing listens on the
 *     engine host's network. The sidecar, not the agent container: it is ocbox's image (socat is
 *     always there, whatever image the agent runs), the agent cannot see or signal its processes,
 *     and its relay is the one the published port uses, so both modes reach the server one way.
 * Our own clients (the SDK, the executor, the eval runner) connect through an undici dispatcher
 * whose connect opens an exec stream; a browser or `opencode attach` needs a port, so `web` and
 * `attach` get a listener on this machine's 127.0.0.1 (ephemeral, closed with them).
 */
import { createServer, type Server, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { Agent } from "undici";
import type { Engine } from "../runtime/engine.js";

export {
  TRANSPORT_ENV,
  transportSetting,
  type ServerTransport,
  type TransportSetting,
} from "./transport-setting.js";

/** Where the sidecar's relay to the server listens in its own namespace (published with "port"). */
export const PUBLISH_PORT = 4096;

/** The relay one exec runs in the sidecar: its stdin/stdout to the sidecar's server relay. */
export const SERVER_RELAY_ARGV = ["socat", "-", `TCP:127.0.0.1:${PUBLISH_PORT}`] as const;

export type Connect = () => Promise<Duplex>;

/** A new connection to the server of the sandbox whose sidecar is `egressId`, over the engine. */
export function serverConnector(engine: Engine, egressId: string): Connect {
  return () => engine.execStream(egressId, [...SERVER_RELAY_ARGV]);
}

/**
 * A fetch whose connections are exec streams (keep-alive reuses them, so a burst of requests
 * pays for one exec). `close` ends the idle ones.
 */
export function execFetch(connect: Connect): { fetch: typeof fetch; close: () => Promise<void> } {
  // undici is loaded on the first request, not with this module: only the exec transport needs
  // it, and loading it took a third of `ocbox --version`'s module time (issue 16).
  let agent: Promise<Agent> | undefined;
  const agentOnce = () =>
    (agent ??= import("undici").then(
      (undici) =>
        new undici.Agent({
          connect: (_options, callback) => {
            connect().then(
              (stream) => callback(null, stream as unknown as Socket),
              (e: unknown) => callback(e instanceof Error ? e : new Error(String(e)), null),
            );
          },
          keepAliveTimeout: 30_000,
        }),
    ));
  // Node's own fetch takes an undici dispatcher (the SDK hands it Request objects of Node's fetch).
  const viaExec: typeof fetch = async (input, init) =>
    fetch(input, { ...init, dispatcher: await agentOnce() });
  return { fetch: viaExec, close: async () => (agent ? (await agent).close() : undefined) };
}

export interface LocalRelay {
  /** http://127.0.0.1:PORT on this machine. */
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * A listener on this machine's 127.0.0.1 (an ephemeral port) whose every connection is a new
 * exec stream to the server: for a browser (the web front) and `opencode attach`.
 */
export async function listenLocalRelay(connect: Connect, onError?: (e: Error) => void): Promise<LocalRelay> {
  const open = new Set<Socket>();
  const server: Server = createServer((socket) => {
    open.add(socket);
    socket.once("close", () => open.delete(socket));
    socket.pause();
    connect().then(
      (stream) => {
        socket.pipe(stream).pipe(socket);
        stream.once("error", () => socket.destroy());
        stream.once("close", () => socket.destroy());
        socket.once("error", () => stream.destroy());
        socket.once("close", () => stream.destroy());
        socket.resume();
      },
      (e: unknown) => {
        onError?.(e instanceof Error ? e : new Error(String(e)));
        socket.destroy();
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
}
