/**
 * The bridge over streamable HTTP on 127.0.0.1 (stateless: a fresh MCP server per request over
 * the shared task registry). Every request needs `Authorization: Bearer <token>`; a Host header
 * other than 127.0.0.1/localhost on this port (DNS rebinding) and a foreign Origin are refused.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { bearerMatches } from "./token.js";

export const BRIDGE_PATH = "/mcp";

export interface BridgeHttp {
  /** http://127.0.0.1:PORT/mcp */
  url: string;
  port: number;
  close(): Promise<void>;
}

function refuse(res: ServerResponse, status: number, message: string, extra: Record<string, string> = {}) {
  res
    .writeHead(status, { "content-type": "application/json", ...extra })
    .end(JSON.stringify({ jsonrpc: "2.0", error: { code: -32001, message }, id: null }));
}

export async function startBridgeHttp(
  makeServer: () => McpServer,
  options: { token: string; port?: number },
): Promise<BridgeHttp> {
  let port = 0;
  const local = (host: string | undefined) => host === `127.0.0.1:${port}` || host === `localhost:${port}`;
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    if (!local(req.headers.host)) return refuse(res, 421, "wrong host");
    const origin = req.headers.origin;
    if (origin !== undefined && !local(origin.replace(/^https?:\/\//, "")))
      return refuse(res, 403, "foreign origin");
    if (!bearerMatches(req.headers.authorization, options.token))
      return refuse(res, 401, "missing or wrong bearer token (see the bridge-token file in the state dir)", {
        "www-authenticate": 'Bearer realm="ocbox-bridge"',
      });
    if (new URL(req.url ?? "/", "http://127.0.0.1").pathname !== BRIDGE_PATH)
      return refuse(res, 404, `the MCP endpoint is ${BRIDGE_PATH}`);
    const server = makeServer();
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on("close", () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res);
  };
  const http = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) refuse(res, 500, e instanceof Error ? e.message : String(e));
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    http.once("error", reject);
    http.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  const address = http.address();
  port = typeof address === "object" && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}${BRIDGE_PATH}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  };
}
