/**
 * The egress allowlist (FEATURES B1): `.example.com` allows the domain and every subdomain,
 * `api.example.com` allows exactly that host. Everything else is denied. Pure.
 */

/** True for an IPv4 or IPv6 literal (the proxy never allows one: the list names hosts). */
export function isIpLiteral(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "");
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(h) || h.includes(":");
}

/** Lower-case, no trailing dot, duplicates and entries covered by a leading-dot entry removed. */
export function normaliseAllowlist(entries: readonly string[]): string[] {
  const clean = [...new Set(entries.map((e) => e.trim().toLowerCase().replace(/\.$/, "")).filter(Boolean))];
  const domains = clean.filter((e) => e.startsWith("."));
  const covered = (e: string) =>
    domains.some(
      (d) => d !== e && (e === d.slice(1) || e.endsWith(d) || (e.startsWith(".") && e.endsWith(d))),
    );
  return clean.filter((e) => !covered(e)).sort();
}

/** The allowlist entry that allows `host`, or undefined when none does. */
export function matchHost(allow: readonly string[], host: string): string | undefined {
  const h = host.toLowerCase().replace(/\.$/, "");
  if (h === "" || isIpLiteral(h)) return undefined;
  for (const entry of allow) {
    const e = entry.toLowerCase();
    if (e.startsWith(".")) {
      if (h === e.slice(1) || h.endsWith(e)) return entry;
    } else if (h === e) {
      return entry;
    }
  }
  return undefined;
}

/** The allowlist line that would allow `host`: the exact host (the narrowest choice). */
export function suggestedEntry(host: string): string {
  return host.toLowerCase().replace(/\.$/, "");
}
