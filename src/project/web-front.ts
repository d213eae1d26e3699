/**
 * The web login front (FEATURES A5). OpenCode's server wants HTTP Basic auth on every route; a
 * browser would either show a password dialog or need the password in a URL. Instead ocbox runs
 * this small proxy on the host's 127.0.0.1:
 *   - `/__ocbox/login?code=C` spends a random single-use code (valid 60 s), sets an HttpOnly,
 *     SameSite=Strict session cookie and redirects to the landing page (`landing`: the project's
 *     route in OpenCode's app, so the UI opens on the project, ready for a session; default `/`);
 *   - every other request needs that cookie (401 otherwise) and is proxied to the sandbox's server
 *     with the Authorization header added, SSE and websockets included;
 *   - a Host header other than 127.0.0.1/localhost on its port is refused (DNS rebinding);
 *   - no browser cookie reaches the server and no `Set-Cookie` comes back; a foreign Origin, or a
 *     state-changing request or websocket without the front's Origin, is refused (web-front-policy.ts);
 *   - with `openDirectory`, the app's HTML gets one same-origin script that opens that directory as
 *     a project (opencode/web-open-project.ts): the app has no URL that does it on its own.
 * The password stays in this process's memory; the browser, its URL and its argv see only a code
 * that is spent on first use.
 */
import { randomBytes } from "node:crypto";
import {
  createServer,
  request,
  type IncomingMessage,
  type RequestOptions,
  type Server,
  type ServerResponse,
} from "node:http";
import type { Socket } from "node:net";
import { authorization, type ServerHandle } from "../opencode/server-handle.js";
import { LoginCodes, cookieValue, systemClock, type Clock } from "./login-codes.js";
import {
  browserHeaders,
  browserRawHeaders,
  frontHosts,
  frontVerdict,
  upstreamHeaders,
} from "./web-front-policy.js";
import { listenLoopback } from "../util/listen.js";
import { OPEN_SCRIPT_PATH, openProjectScript, withOpenScript } from "../opencode/web-open-project.js";

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

export async function startWebFront(
  target: ServerHandle,
  options: { port?: number; clock?: Clock; landing?: string; openDirectory?: string } = {},
): Promise<WebFront> {
  const landing = options.landing ?? "/";
  const opener = options.openDirectory;
  const codes = new LoginCodes(options.clock ?? systemClock);
  const upstream = new URL(target.url);
  const auth = authorization(target.password);
  let port = 0;
  // A name of its own: another front (or any page) on 127.0.0.1 shares the browser's cookie jar.
  const cookieName = `ocbox_${randomBytes(9)
    .toString("base64url")
    .replace(/[^A-Za-z0-9]/g, "x")}`;
  const verdict = (req: IncomingMessage, upgrade: boolean) =>
    frontVerdict(
      {
        method: req.method ?? "GET",
        host: req.headers.host,
        origin: req.headers.origin,
        fetchSite: header(req, "sec-fetch-site"),
        upgrade,
        loggedIn: codes.isSession(cookieValue(req.headers.cookie, cookieName)),
      },
      port,
    );

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", `http://127.0.0.1:${port}`);
    if (url.pathname === LOGIN_PATH && frontHosts(port).includes(req.headers.host ?? "")) {
      login(codes, url, cookieName, res, landing);
      return;
    }
    const v = verdict(req, false);
    if (!v.pass) {
      refuse(res, v.status, v.reason);
      return;
    }
    if (opener !== undefined && url.pathname === OPEN_SCRIPT_PATH) {
      res
        .writeHead(200, { "content-type": "text/javascript; charset=utf-8", "cache-control": "no-store" })
        .end(openProjectScript(opener));
      return;
    }
    proxyRequest(req, res, upstream, auth, opener !== undefined);
  });

  server.on("upgrade", (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const v = verdict(req, true);
    if (!v.pass) {
      socket.end(`HTTP/1.1 ${v.status} Refused\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
      return;
    }
    proxyUpgrade(req, socket, head, {
      host: upstream.hostname,
      port: upstream.port,
      method: req.method,
      path: req.url,
      headers: upstreamHeaders(req.headers, upstream, auth, true),
    });
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

/** Pass one request on to the sandbox's server, with its password added; `opens`: add the project opener to pages. */
function proxyRequest(
  req: IncomingMessage,
  res: ServerResponse,
  upstream: URL,
  auth: string,
  opens: boolean,
): void {
  // A page the browser navigates to: plain (not compressed) HTML, so the script tag can go in.
  const page = opens && req.method === "GET" && /text\/html/.test(req.headers.accept ?? "");
  const headers = upstreamHeaders(req.headers, upstream, auth, false);
  if (page) delete headers["accept-encoding"];
  const up = request(
    { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers },
    (upRes) => relay(upRes, res, page),
  );
  up.on("error", () => {
    if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" });
    res.end("the sandbox's server is not answering; is it still up? (`ocbox status`)\n");
  });
  res.on("close", () => up.destroy());
  req.pipe(up);
}

/** The largest page the front rewrites; a bigger one passes through untouched. */
const MAX_PAGE_BYTES = 4 * 1024 * 1024;

/** The server's answer to the browser; an HTML page (`page`) with the project opener added. */
function relay(upRes: IncomingMessage, res: ServerResponse, page: boolean): void {
  const headers = browserHeaders(upRes.headers);
  const html =
    page && /^text\/html/.test(String(headers["content-type"] ?? "")) && !headers["content-encoding"];
  if (!html) {
    res.writeHead(upRes.statusCode ?? 502, headers);
    res.flushHeaders();
    upRes.pipe(res);
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  upRes.on("data", (c: Buffer) => {
    size += c.length;
    if (size > MAX_PAGE_BYTES) {
      upRes.destroy();
      res.destroy();
      return;
    }
    chunks.push(c);
  });
  upRes.on("end", () => {
    const body = Buffer.from(withOpenScript(Buffer.concat(chunks).toString("utf8")), "utf8");
    delete headers["content-length"];
    res.writeHead(upRes.statusCode ?? 502, { ...headers, "content-length": String(body.length) }).end(body);
  });
  upRes.on("error", () => res.destroy());
}

function refuse(res: ServerResponse, status: number, reason: string): void {
  if (status === 401) {
    res.writeHead(401, { "content-type": "text/html", "cache-control": "no-store" }).end(NOT_LOGGED_IN);
    return;
  }
  res.writeHead(status, { "content-type": "text/plain", "cache-control": "no-store" }).end(`${reason}\n`);
}

/** `/__ocbox/login?code=C`: spend the code, set the session cookie, go to the landing page. */
function login(codes: LoginCodes, url: URL, cookieName: string, res: ServerResponse, landing: string): void {
  const session = codes.redeem(url.searchParams.get("code") ?? "");
  if (!session) {
    res
      .writeHead(401, { "content-type": "text/html", "cache-control": "no-store" })
      .end(NOT_LOGGED_IN.replace("Not logged in.", "This login link was used or has expired."));
    return;
  }
  res
    .writeHead(303, {
      location: landing,
      "set-cookie": `${cookieName}=${session}; HttpOnly; SameSite=Strict; Path=/`,
      "cache-control": "no-store",
      "referrer-policy": "no-referrer",
    })
    .end();
}

/** Carry a checked upgrade (websocket) to the server and splice the two sockets. */
function proxyUpgrade(req: IncomingMessage, socket: Socket, head: Buffer, options: RequestOptions): void {
  const up = request(options);
  up.on("upgrade", (upRes, upSocket, upHead) => {
    const lines = [
      `HTTP/1.1 ${upRes.statusCode ?? 101} ${upRes.statusMessage ?? "Switching Protocols"}`,
      ...browserRawHeaders(upRes.rawHeaders),
    ];
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
  req.on("error", () => up.destroy());
  up.end();
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
