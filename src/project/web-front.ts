/**
 * The web login front (FEATURES A5). OpenCode's server wants HTTP Basic auth on every route; a
 * browser would either show a password dialog or need the password in a URL. Instead ocbox runs
 * this small proxy on the host's 127.0.0.1:
 *   - `/__ocbox/login?code=C` spends a random single-use code (valid 60 s), sets an HttpOnly,
 *     SameSite=Strict session cookie and redirects to `/`;
 *   - every other request needs that cookie (401 otherwise) and is proxied to the sandbox's server
 *     with the Authorization header added, SSE and websockets included;
 *   - a Host header other than 127.0.0.1/localhost on its port is refused (DNS rebinding).
 * The password stays in this process's memory; the browser, its URL and its argv see only a code
 * that is spent on first use.
 */
import {
  createServer,
  request,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type Server,
} from "node:http";
import type { Socket } from "node:net";
import { authorization, type ServerHandle } from "../opencode/client.js";
import { LoginCodes, cookieValue, systemClock, withoutCookie, type Clock } from "./login-codes.js";
import { listenLoopback } from "../util/listen.js";

export const LOGIN_PATH = "/__ocbox/login";

export interface WebFront {
  /** http://127.0.0.1:PORT */
  url: string;
  port: number;
  /** A fresh one-time login URL. */
  loginUrl(): string;
  close(): Promise<void>;
}

const NOT_LOGGED_IN = `<!doctype html><meta charset="utf-8"><title>ocbox: not logged in</title>
<p>Not logged in. Run <code>ocbox web</code> in the project for a one-time login link.</p>\n`;

const HOP_BY_HOP = [
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "te",
  "trailer",
  "upgrade",
];

export async function startWebFront(
  target: ServerHandle,
  options: { port?: number; clock?: Clock } = {},
): Promise<WebFront> {
  const codes = new LoginCodes(options.clock ?? systemClock);
  const upstream = new URL(target.url);
  const auth = authorization(target.password);
  let port = 0;
  const cookieName = () => `ocbox_${port}`;
  const hostAllowed = (host: string | undefined) =>
    host === `127.0.0.1:${port}` || host === `localhost:${port}`;
  const loggedIn = (req: IncomingMessage) => codes.isSession(cookieValue(req.headers.cookie, cookieName()));

  const forwardHeaders = (req: IncomingMessage, keepUpgrade: boolean): OutgoingHttpHeaders => {
    const headers: OutgoingHttpHeaders = { ...req.headers };
    if (!keepUpgrade) for (const h of HOP_BY_HOP) delete headers[h];
    delete headers.cookie;
    const cookie = withoutCookie(req.headers.cookie, cookieName());
    if (cookie) headers.cookie = cookie;
    headers.host = upstream.host;
    headers.authorization = auth;
    // The UI's origin is the front; OpenCode checks CORS against its own.
    if (headers.origin) headers.origin = upstream.origin;
    return headers;
  };

  const server: Server = createServer((req, res) => {
    if (!hostAllowed(req.headers.host)) {
      res.writeHead(421, { "content-type": "text/plain" }).end("wrong host\n");
      return;
    }
    const url = new URL(req.url ?? "/", `http://127.0.0.1:${port}`);
    if (url.pathname === LOGIN_PATH) {
      const session = codes.redeem(url.searchParams.get("code") ?? "");
      if (!session) {
        res
          .writeHead(401, { "content-type": "text/html", "cache-control": "no-store" })
          .end(NOT_LOGGED_IN.replace("Not logged in.", "This login link was used or has expired."));
        return;
      }
      res
        .writeHead(303, {
          location: "/",
          "set-cookie": `${cookieName()}=${session}; HttpOnly; SameSite=Strict; Path=/`,
          "cache-control": "no-store",
          "referrer-policy": "no-referrer",
        })
        .end();
      return;
    }
    if (!loggedIn(req)) {
      res.writeHead(401, { "content-type": "text/html", "cache-control": "no-store" }).end(NOT_LOGGED_IN);
      return;
    }
    const up = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: forwardHeaders(req, false),
      },
      (upRes) => {
        const headers = { ...upRes.headers };
        delete headers["www-authenticate"];
        for (const h of HOP_BY_HOP) delete headers[h];
        res.writeHead(upRes.statusCode ?? 502, headers);
        res.flushHeaders();
        upRes.pipe(res);
      },
    );
    up.on("error", () => {
      if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" });
      res.end("the sandbox's server is not answering; is it still up? (`ocbox status`)\n");
    });
    res.on("close", () => up.destroy());
    req.pipe(up);
  });

  server.on("upgrade", (req: IncomingMessage, socket: Socket, head: Buffer) => {
    if (!hostAllowed(req.headers.host) || !loggedIn(req)) {
      socket.end("HTTP/1.1 401 Unauthorized\r\nconnection: close\r\ncontent-length: 0\r\n\r\n");
      return;
    }
    const up = request({
      host: upstream.hostname,
      port: upstream.port,
      method: req.method,
      path: req.url,
      headers: forwardHeaders(req, true),
    });
    up.on("upgrade", (upRes, upSocket, upHead) => {
      const lines = [`HTTP/1.1 ${upRes.statusCode ?? 101} ${upRes.statusMessage ?? "Switching Protocols"}`];
      for (let i = 0; i < upRes.rawHeaders.length; i += 2)
        lines.push(`${upRes.rawHeaders[i]}: ${upRes.rawHeaders[i + 1]}`);
      socket.write(`${lines.join("\r\n")}\r\n\r\n`);
      if (upHead.length) socket.write(upHead);
      if (head.length) upSocket.write(head);
      upSocket.pipe(socket).pipe(upSocket);
      upSocket.on("error", () => socket.destroy());
      socket.on("error", () => upSocket.destroy());
    });
    up.on("response", (upRes) => {
      socket.end(
        `HTTP/1.1 ${upRes.statusCode ?? 502} ${upRes.statusMessage ?? ""}\r\ncontent-length: 0\r\n\r\n`,
      );
      upRes.resume();
    });
    up.on("error", () => socket.destroy());
    up.end();
  });

  const bound = await listenLoopback(server, options.port ?? 0);
  port = bound.port;
  const url = bound.url;
  return {
    url,
    port,
    loginUrl: () => `${url}${LOGIN_PATH}?code=${codes.mint()}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
