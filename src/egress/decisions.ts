/**
 * The egress decision log (FEATURES B6, B7). The proxy writes one line per transaction in
 * LOG_FORMAT (squid.ts); ocbox turns each into a decision: time, host, port, method, allow or
 * deny, and the rule that decided. Pure: text in, data out.
 */
import { isIpLiteral, matchHost, suggestedEntry } from "./allowlist.js";
import { PHASE_MARKER } from "./squid.js";

export type DecisionRule =
  | { kind: "allowlist"; entry: string }
  | { kind: "gateway"; name: string }
  | { kind: "gateway-refused"; name: string }
  | { kind: "gateway-no-relay"; name: string }
  | { kind: "not-allowlisted" }
  | { kind: "public" }
  | { kind: "ip-literal" }
  | { kind: "port" }
  | { kind: "local-address" }
  | { kind: "sni-mismatch"; sni: string };

export interface Decision {
  /** ISO time. */
  time: string;
  host: string;
  port: number;
  method: string;
  decision: "allow" | "deny";
  /** A short text: the allowlist entry, or why it was denied. */
  rule: string;
  /** The TLS server name the client sent, when it differs from the host. */
  sni?: string;
  /** A model gateway's request path, without its query. */
  path?: string;
  status: number;
}

export interface LogContext {
  allow: readonly string[];
  /** The proxy allowed every host but the host's own addresses (squid.ts `public`). */
  public?: boolean;
  /** Squid listen port → gateway name. */
  gatewayPorts: Readonly<Record<number, string>>;
}

interface RawLine {
  time: number;
  localPort: number;
  method: string;
  host: string;
  port: number;
  sni: string | undefined;
  status: number;
  squidStatus: string;
  bumpMode: string | undefined;
  path: string | undefined;
}

const dash = (s: string | undefined) => (s === undefined || s === "-" || s === "" ? undefined : s);

/** One access log line, or undefined for a line that is not one (squid's own messages). */
export function parseLogLine(line: string): RawLine | undefined {
  const f = line.trim().split(/\s+/);
  if (f.length < 9) return undefined;
  const [time, lp, method, host, port, sni, status, squidStatus, bump, , path] = f as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const t = Number(time);
  // "-": a connection that never made a request (a gateway port's refused TLS handshake).
  if (!Number.isFinite(t) || !/^(?:[A-Z_]+|-)$/.test(method)) return undefined;
  return {
    time: t,
    localPort: Number(lp),
    method,
    host: host.replace(/^\[|\]$/g, "").toLowerCase(),
    port: Number(port) || (method === "CONNECT" ? 443 : 80),
    sni: dash(sni)?.toLowerCase(),
    status: Number(status) || 0,
    squidStatus,
    bumpMode: dash(bump),
    path: dash(path)?.split("?")[0],
  };
}

function ruleText(rule: DecisionRule): string {
  switch (rule.kind) {
    case "allowlist":
      return rule.entry;
    case "gateway":
      return `model gateway ${rule.name}`;
    case "gateway-refused":
      return `model gateway ${rule.name}: not an inference request (method, path or Host)`;
    case "gateway-no-relay":
      return `model gateway ${rule.name}: a connection with no request (a TLS client without the relay's certificate, or an unfinished request)`;
    case "not-allowlisted":
      return "not on the allowlist";
    case "public":
      return "public network (every host but the host's own addresses)";
    case "ip-literal":
      return "IP address (the allowlist names hosts)";
    case "port":
      return "port (HTTP 80 and HTTPS 443 only)";
    case "local-address":
      return "resolves to the host itself";
    case "sni-mismatch":
      return `TLS server name ${rule.sni} is not on the allowlist`;
  }
}

/** The decision for one parsed line; undefined for a line that decides nothing. */
export function decide(raw: RawLine, ctx: LogContext): (Decision & { ruleKind: DecisionRule }) | undefined {
  const base = {
    time: new Date(raw.time * 1000).toISOString(),
    host: raw.host,
    port: raw.port,
    method: raw.method,
    status: raw.status,
    ...(raw.sni && raw.sni !== raw.host ? { sni: raw.sni } : {}),
  };
  const make = (decision: "allow" | "deny", rule: DecisionRule) => ({
    ...base,
    decision,
    rule: ruleText(rule),
    ruleKind: rule,
  });
  const gateway = ctx.gatewayPorts[raw.localPort];
  if (gateway !== undefined) {
    const at = raw.path !== undefined ? { path: raw.path } : {};
    if (raw.method === "-") return { ...make("deny", { kind: "gateway-no-relay", name: gateway }), ...at };
    // Forwarded means a status from the upstream; DENIED, or NONE (a request squid itself
    // refused, such as CONNECT), never reached it.
    if (raw.squidStatus.includes("DENIED") || /^(TAG_)?NONE/.test(raw.squidStatus))
      return { ...make("deny", { kind: "gateway-refused", name: gateway }), ...at };
    return { ...make("allow", { kind: "gateway", name: gateway }), ...at };
  }
  if (raw.method === "-") return undefined;
  // Peeking at a ClientHello logs an intermediate line; the tunnel's own line follows.
  if (raw.squidStatus.startsWith("NONE") && raw.bumpMode === "splice") return undefined;
  if (raw.bumpMode === "terminate") {
    const sni = raw.sni ?? "(none)";
    return make("deny", { kind: "sni-mismatch", sni });
  }
  const entry = ctx.public ? "public" : matchHost(ctx.allow, raw.host);
  if (raw.squidStatus.includes("DENIED")) {
    if (entry === undefined && isIpLiteral(raw.host)) return make("deny", { kind: "ip-literal" });
    if (entry === undefined) return make("deny", { kind: "not-allowlisted" });
    const okPort = raw.method === "CONNECT" ? raw.port === 443 : raw.port === 80;
    return make("deny", okPort ? { kind: "local-address" } : { kind: "port" });
  }
  if (ctx.public) return make("allow", { kind: "public" });
  if (entry !== undefined) return make("allow", { kind: "allowlist", entry });
  // The proxy let it through but no entry matches: should not happen; report it as it is.
  return make("allow", { kind: "not-allowlisted" });
}

/** Every decision in a log text, in order. */
export function parseDecisions(text: string, ctx: LogContext): Decision[] {
  const out: Decision[] = [];
  for (const line of text.split("\n")) {
    const raw = parseLogLine(line);
    // A sidecar switched to another phase's policy proved it with a marker request of ocbox's own.
    if (!raw || PHASE_MARKER.test(raw.host)) continue;
    const d = decide(raw, ctx);
    if (!d) continue;
    const { ruleKind: _, ...decision } = d;
    out.push(decision);
  }
  return out;
}

export function toJsonl(decisions: readonly Decision[]): string {
  return decisions.map((d) => JSON.stringify(d) + "\n").join("");
}

export function fromJsonl(text: string): Decision[] {
  return text
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as Decision);
}

export interface HostSummary {
  host: string;
  allowed: number;
  denied: number;
  /** Ports seen. */
  ports: number[];
  lastRule: string;
}

/** Allowed and denied counts per host, most denied first. */
export function summarise(decisions: readonly Decision[]): HostSummary[] {
  const by = new Map<string, HostSummary>();
  for (const d of decisions) {
    const s = by.get(d.host) ?? { host: d.host, allowed: 0, denied: 0, ports: [], lastRule: d.rule };
    if (d.decision === "allow") s.allowed++;
    else s.denied++;
    if (!s.ports.includes(d.port)) s.ports.push(d.port);
    s.lastRule = d.rule;
    by.set(d.host, s);
  }
  return [...by.values()].sort((a, b) => b.denied - a.denied || a.host.localeCompare(b.host));
}

export interface Suggestion {
  host: string;
  denied: number;
  /** The egress.allow line to add, or undefined when no allowlist line can help. */
  entry: string | undefined;
  why: string;
}

/**
 * Denied hosts with the allowlist line that would allow them (B7). Hosts that no line can allow
 * (IP literals, ports other than 80/443, names resolving to the host) say why instead.
 */
export function suggestions(decisions: readonly Decision[], allow: readonly string[]): Suggestion[] {
  const out = new Map<string, Suggestion>();
  for (const d of decisions) {
    if (d.decision !== "deny") continue;
    const host = d.sni && d.rule.startsWith("TLS server name") ? d.sni : d.host;
    const prev = out.get(host);
    if (prev) {
      prev.denied++;
      continue;
    }
    let entry: string | undefined;
    let why: string;
    if (d.rule.startsWith("model gateway")) {
      why = "refused by the model gateway, which forwards inference requests from the sandbox only";
    } else if (isIpLiteral(host)) {
      why = "an IP address: the allowlist names hosts; use the host's name";
    } else if (d.rule.startsWith("port")) {
      why = `port ${d.port}: only HTTP on 80 and HTTPS on 443 go through the proxy; host ports go in egress.hostPorts`;
    } else if (d.rule === "resolves to the host itself") {
      why = "resolves to the host itself; host ports go in egress.hostPorts";
    } else if (matchHost(allow, host) !== undefined) {
      why = "already allowed";
    } else {
      entry = suggestedEntry(host);
      why = "not on the allowlist";
    }
    out.set(host, { host, denied: 1, entry, why });
  }
  return [...out.values()].sort((a, b) => b.denied - a.denied || a.host.localeCompare(b.host));
}

/** The suggestions as YAML lines to paste under `egress.allow`. */
export function suggestionYaml(list: readonly Suggestion[]): string {
  const entries = list.filter((s) => s.entry !== undefined);
  if (entries.length === 0) return "";
  return ["egress:", "  allow:", ...entries.map((s) => `    - ${s.entry}   # denied ${s.denied}×`), ""].join(
    "\n",
  );
}
