/**
 * What the web login front lets through, and which headers cross it. Pure: request facts in,
 * a verdict or a header set out.
 *
 * Every other page on 127.0.0.1 (any port) is same-site with the front, so SameSite=Strict alone
 * does not stop it: the browser sends cookies for 127.0.0.1 whatever the port. Hence
 *   - the front's cookie has a name of its own (a random suffix), and no browser cookie ever
 *     crosses to the sandbox's server, nor a `Set-Cookie` from it back to the browser;
 *   - a request whose Origin is not the front's own is refused, and a state-changing request or
 *     a WebSocket upgrade must carry the front's Origin (a cross-origin form or script is refused
 *     even when the browser attaches the front's cookie);
 *   - a request the browser marks as coming from another page (`Sec-Fetch-Site` other than
 *     same-origin or none: an img, script or iframe of a foreign page) is refused too.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";

export const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

const HOP_BY_HOP = [
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "te",
  "trailer",
  "upgrade",
];

export interface FrontRequest {
  method: string;
  host: string | undefined;
  origin: string | undefined;
  /** The browser's `Sec-Fetch-Site`, when it sent one. */
  fetchSite?: string | undefined;
  upgrade: boolean;
  loggedIn: boolean;
}

export type FrontVerdict = { pass: true } | { pass: false; status: 401 | 403 | 421; reason: string };

/** The hosts the front answers to on its port (anything else is DNS rebinding). */
export function frontHosts(port: number): string[] {
  return [`127.0.0.1:${port}`, `localhost:${port}`];
}

/** Whether a request may reach the sandbox's server. The login path is handled before this. */
export function frontVerdict(req: FrontRequest, port: number): FrontVerdict {
  if (req.host === undefined || !frontHosts(port).includes(req.host))
    return { pass: false, status: 421, reason: "wrong host" };
  const own = `http://${req.host}`;
  if (req.origin !== undefined && req.origin !== own)
    return { pass: false, status: 403, reason: `origin ${req.origin} is not this front's` };
  if (req.fetchSite !== undefined && req.fetchSite !== "same-origin" && req.fetchSite !== "none")
    return { pass: false, status: 403, reason: `a ${req.fetchSite} request from another page` };
  if (req.origin === undefined && (req.upgrade || !SAFE_METHODS.has(req.method)))
    return {
      pass: false,
      status: 403,
      reason: `a ${req.upgrade ? "websocket" : req.method} needs this front's Origin`,
    };
  if (!req.loggedIn) return { pass: false, status: 401, reason: "not logged in" };
  return { pass: true };
}

/**
 * The headers sent to the sandbox's server: no Cookie at all, its own Host and Authorization, and
 * the (already checked) Origin translated to the server's own, which OpenCode's CORS check expects.
 */
export function upstreamHeaders(
  headers: IncomingHttpHeaders,
  upstream: URL,
  authorization: string,
  keepUpgrade: boolean,
): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = { ...headers };
  if (!keepUpgrade) for (const h of HOP_BY_HOP) delete out[h];
  delete out.cookie;
  delete out["proxy-authorization"];
  out.host = upstream.host;
  out.authorization = authorization;
  if (out.origin !== undefined) out.origin = upstream.origin;
  return out;
}

/** Response headers that go back to the browser: no cookies, no auth challenge, no CORS grants. */
export function browserHeaders(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    const n = name.toLowerCase();
    if (n === "set-cookie" || n === "www-authenticate" || n.startsWith("access-control-")) continue;
    if (HOP_BY_HOP.includes(n)) continue;
    out[n] = value;
  }
  return out;
}

/** Raw header pairs (an upgrade's answer) without the ones `browserHeaders` drops, hop-by-hop kept. */
export function browserRawHeaders(raw: readonly string[]): string[] {
  const lines: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const n = (raw[i] as string).toLowerCase();
    if (n === "set-cookie" || n === "www-authenticate" || n.startsWith("access-control-")) continue;
    lines.push(`${raw[i]}: ${raw[i + 1]}`);
  }
  return lines;
}
