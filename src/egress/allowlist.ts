/**
 * The egress allowlist (FEATURES B1): `.example.com` allows the domain and every subdomain,
 * `api.example.com` allows exactly that host. A benchmark task's `allowed_hosts` (issue 15 item 4)
 * adds three kinds: `*.example.com` (every subdomain, not the domain itself), an IPv4 literal
 * (`203.0.113.7`) and an IPv4 CIDR (`203.0.113.0/24`); an address entry allows a request that
 * names an address in it, never a name that resolves into it. Everything else is denied. Pure.
 */
import { BlockList, isIPv4 } from "node:net";

/** True for an IPv4 or IPv6 literal. */
export function isIpLiteral(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "");
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(h) || h.includes(":");
}

export type AllowEntry =
  | { kind: "host"; entry: string }
  | { kind: "domain"; entry: string; domain: string }
  | { kind: "subdomains"; entry: string; domain: string }
  | { kind: "address"; entry: string; address: string; prefix: number };

const clean = (e: string) => e.trim().toLowerCase().replace(/\.$/, "");

function ipv4ToInt(ip: string): number {
  return ip.split(".").reduce((n, o) => n * 256 + Number(o), 0);
}

function intToIpv4(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");
}

/** `a.b.c.d` or `a.b.c.d/n` as its network address and prefix; undefined for anything else. */
function parseAddress(e: string): { address: string; prefix: number } | undefined {
  const [addr = "", bits, extra] = e.split("/");
  if (extra !== undefined || !isIPv4(addr)) return undefined;
  if (bits !== undefined && !/^\d{1,2}$/.test(bits)) return undefined;
  const prefix = bits === undefined ? 32 : Number(bits);
  if (prefix > 32) return undefined;
  const size = 2 ** (32 - prefix);
  return { address: intToIpv4(Math.floor(ipv4ToInt(addr) / size) * size), prefix };
}

/** One entry's kind; addresses come back as their network (`10.1.2.3/8` → `10.0.0.0/8`). */
export function classifyEntry(raw: string): AllowEntry {
  const e = clean(raw);
  const addr = parseAddress(e);
  if (addr)
    return {
      kind: "address",
      entry: addr.prefix === 32 ? addr.address : `${addr.address}/${addr.prefix}`,
      ...addr,
    };
  if (e.startsWith("*.")) return { kind: "subdomains", entry: e, domain: e.slice(2) };
  if (e.startsWith(".")) return { kind: "domain", entry: e, domain: e.slice(1) };
  return { kind: "host", entry: e };
}

/** Whether a name is `domain` or below it (`sub` true: strictly below). */
const under = (name: string, domain: string, sub: boolean) =>
  name.endsWith(`.${domain}`) || (!sub && name === domain);

/** Whether `a` allows every name `b` allows (b is redundant next to a). */
function covers(a: AllowEntry, b: AllowEntry): boolean {
  if (a.entry === b.entry || a.kind === "host" || b.kind === "address" || a.kind === "address") return false;
  const target = b.kind === "host" ? b.entry : b.domain;
  if (b.kind === "host") return under(target, a.domain, a.kind === "subdomains");
  // A domain covers its own `*.` form and everything below; `*.x` covers `.y.x` and `*.y.x`.
  if (a.kind === "domain") return under(target, a.domain, false);
  return under(target, a.domain, true);
}

/** Lower-case, no trailing dot, duplicates and entries another entry covers removed, sorted. */
export function normaliseAllowlist(entries: readonly string[]): string[] {
  const list = [
    ...new Map(
      entries
        .filter((e) => clean(e) !== "")
        .map(classifyEntry)
        .map((c) => [c.entry, c]),
    ).values(),
  ];
  return list
    .filter((b) => !list.some((a) => covers(a, b)))
    .map((c) => c.entry)
    .sort();
}

function matchAddress(entry: AllowEntry & { kind: "address" }, ip: string): boolean {
  const block = new BlockList();
  block.addSubnet(entry.address, entry.prefix, "ipv4");
  return block.check(ip, "ipv4");
}

/** The allowlist entry that allows `host`, or undefined when none does. */
export function matchHost(allow: readonly string[], host: string): string | undefined {
  const h = clean(host).replace(/^\[|\]$/g, "");
  if (h === "") return undefined;
  const literal = isIpLiteral(h);
  for (const raw of allow) {
    const e = classifyEntry(raw);
    if (e.kind === "address") {
      if (literal && isIPv4(h) && matchAddress(e, h)) return raw;
      continue;
    }
    if (literal) continue;
    if (e.kind === "host" ? h === e.entry : under(h, e.domain, e.kind === "subdomains")) return raw;
  }
  return undefined;
}

/** The allowlist line that would allow `host`: the exact host (the narrowest choice). */
export function suggestedEntry(host: string): string {
  return host.toLowerCase().replace(/\.$/, "");
}
