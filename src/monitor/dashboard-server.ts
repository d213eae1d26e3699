/**
 * `ocbox dashboard`'s web server on 127.0.0.1, protected like the web UI (see web-front.ts): a
 * one-time login code sets an HttpOnly, SameSite=Strict cookie; everything else needs it (401),
 * and a Host header other than 127.0.0.1/localhost on this port is refused. `/events` streams a
 * DashboardSnapshot every interval (server-sent events); `/api/snapshot` returns the latest one.
 */
import { createServer, type ServerResponse } from "node:http";
import { LoginCodes, cookieValue, systemClock, type Clock } from "../project/login-codes.js";
import type { DashboardSnapshot } from "./dashboard-model.js";
import { DASHBOARD_PAGE } from "./dashboard-page.js";
import { listenLoopback } from "../util/listen.js";

export const DASHBOARD_LOGIN_PATH = "/__ocbox/login";

export interface DashboardServer {
  url: string;
  port: number;
  loginUrl(): string;
  /** Send a snapshot to every open page. */
  publish(snapshot: DashboardSnapshot): void;
  close(): Promise<void>;
}

const NOT_LOGGED_IN = `<!doctype html><meta charset="utf-8"><title>ocbox dashboard: not logged in</title>
<p>Not logged in. Run <code>ocbox dashboard</code> for a one-time login link.</p>\n`;

const SECURITY_HEADERS = {
  "cache-control": "no-store",
  "referrer-policy": "no-referrer",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "content-security-policy":
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self'",
};

/** A login link: its one-time code becomes a session cookie, or the page says it was used. */
function redeemLogin(codes: LoginCodes, code: string, cookieName: string, res: ServerResponse): void {
  const session = codes.redeem(code);
  if (!session) {
    res
      .writeHead(401, { "content-type": "text/html", ...SECURITY_HEADERS })
      .end(NOT_LOGGED_IN.replace("Not logged in.", "This login link was used or has expired."));
    return;
  }
  res
    .writeHead(303, {
      location: "/",
      "set-cookie": `${cookieName}=${session}; HttpOnly; SameSite=Strict; Path=/`,
      ...SECURITY_HEADERS,
    })
    .end();
}

export async function startDashboardServer(
  options: { port?: number; clock?: Clock } = {},
): Promise<DashboardServer> {
  const codes = new LoginCodes(options.clock ?? systemClock);
  const streams = new Set<ServerResponse>();
  let latest: DashboardSnapshot = { time: new Date().toISOString(), sandboxes: [] };
  let port = 0;
  const cookieName = () => `ocbox_dash_${port}`;

  const server = createServer((req, res) => {
    const host = req.headers.host;
    if (host !== `127.0.0.1:${port}` && host !== `localhost:${port}`) {
      res.writeHead(421, { "content-type": "text/plain" }).end("wrong host\n");
      return;
    }
    const url = new URL(req.url ?? "/", `http://127.0.0.1:${port}`);
    if (url.pathname === DASHBOARD_LOGIN_PATH) {
      redeemLogin(codes, url.searchParams.get("code") ?? "", cookieName(), res);
      return;
    }
    if (!codes.isSession(cookieValue(req.headers.cookie, cookieName()))) {
      res.writeHead(401, { "content-type": "text/html", ...SECURITY_HEADERS }).end(NOT_LOGGED_IN);
      return;
    }
    if (url.pathname === "/") {
      res
        .writeHead(200, { "content-type": "text/html; charset=utf-8", ...SECURITY_HEADERS })
        .end(DASHBOARD_PAGE);
      return;
    }
    if (url.pathname === "/api/snapshot") {
      res
        .writeHead(200, { "content-type": "application/json", ...SECURITY_HEADERS })
        .end(JSON.stringify(latest));
      return;
    }
    if (url.pathname === "/events") {
      res.writeHead(200, {
        "content-type": "text/event-stream",
        connection: "keep-alive",
        ...SECURITY_HEADERS,
      });
      res.write(`data: ${JSON.stringify(latest)}\n\n`);
      streams.add(res);
      res.on("close", () => streams.delete(res));
      return;
    }
    res.writeHead(404, { "content-type": "text/plain", ...SECURITY_HEADERS }).end("not found\n");
  });

  const bound = await listenLoopback(server, options.port ?? 0);
  port = bound.port;
  const url = bound.url;
  return {
    url,
    port,
    loginUrl: () => `${url}${DASHBOARD_LOGIN_PATH}?code=${codes.mint()}`,
    publish: (snapshot) => {
      latest = snapshot;
      const data = `data: ${JSON.stringify(snapshot)}\n\n`;
      for (const s of streams) s.write(data);
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of streams) s.end();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
