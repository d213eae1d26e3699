/**
 * Reading TCP listeners from `/proc/<pid>/net/tcp{,6}` text. Pure: text in, listeners out.
 * Each line: `sl local_address rem_address st … uid timeout inode`; state 0A is LISTEN.
 */

export interface Listener {
  /** "127.0.0.1", "0.0.0.0", "::1", "::" … */
  address: string;
  port: number;
  /** The socket's inode, to find the process that holds it. */
  inode: number;
}

function ipv4(hex: string): string {
  // Little-endian per 32-bit word.
  const bytes = hex.match(/../g) ?? [];
  return bytes
    .reverse()
    .map((b) => parseInt(b, 16))
    .join(".");
}

function ipv6(hex: string): string {
  const words: string[] = [];
  for (let i = 0; i < 32; i += 8) {
    const word = (hex.slice(i, i + 8).match(/../g) ?? []).reverse().join("");
    words.push(word.slice(0, 4), word.slice(4, 8));
  }
  const text = words.map((w) => parseInt(w, 16).toString(16)).join(":");
  if (text === "0:0:0:0:0:0:0:0") return "::";
  if (text === "0:0:0:0:0:0:0:1") return "::1";
  const mapped = /^0:0:0:0:0:ffff:([0-9a-f]+):([0-9a-f]+)$/.exec(text);
  if (mapped) return `::ffff:${ipv4(hex.slice(24))}`;
  return text;
}

/** The LISTEN sockets in one /proc/net/tcp or tcp6 file. */
export function parseProcNetTcp(text: string): Listener[] {
  const out: Listener[] = [];
  for (const line of text.split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10 || f[3] !== "0A") continue;
    const [addr, port] = (f[1] ?? "").split(":");
    if (!addr || !port) continue;
    out.push({
      address: addr.length === 8 ? ipv4(addr) : ipv6(addr),
      port: parseInt(port, 16),
      inode: Number(f[9]),
    });
  }
  return out;
}

/** One variable from a NUL-separated /proc/<pid>/environ; every other value is dropped unread. */
export function environValue(environ: string, name: string): string | undefined {
  const entry = environ.split("\0").find((e) => e.startsWith(`${name}=`));
  return entry?.slice(name.length + 1);
}

/** `socket:[12345]` → 12345. */
export function socketInode(link: string): number | undefined {
  const m = /^socket:\[(\d+)\]$/.exec(link);
  return m ? Number(m[1]) : undefined;
}
