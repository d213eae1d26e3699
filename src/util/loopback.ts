const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);

/** The port of an http(s) URL on the host's loopback, or undefined. Pure. */
export function loopbackPort(url: string): number | undefined {
  try {
    const u = new URL(url);
    if (!LOOPBACK.has(u.hostname)) return undefined;
    return Number(u.port || (u.protocol === "https:" ? 443 : 80));
  } catch {
    return undefined;
  }
}
