/**
 * The bridge's bearer token: random, kept in the project's state dir (0600) so a client on this
 * host that may read the state dir can use it, and checked in constant time.
 */
import { randomBytes, timingSafeEqual } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";

export function bridgeTokenFile(stateDir: string): string {
  return join(stateDir, "bridge-token");
}

/** The token in the state dir, created on first use. */
export async function ensureBridgeToken(stateDir: string): Promise<{ token: string; file: string }> {
  return ensureTokenFile(bridgeTokenFile(stateDir));
}

/** A random token in `file` (0600, its dir 0700), created on first use (the bridge, the service). */
export async function ensureTokenFile(file: string): Promise<{ token: string; file: string }> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const token = randomBytes(32).toString("base64url");
  await writeFile(file, `${token}\n`, { mode: 0o600, flag: "wx" }).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== "EEXIST") throw e;
  });
  return { token: (await readFile(file, "utf8")).trim(), file };
}

/** Does an Authorization header carry exactly `Bearer <token>`? Pure. */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  if (!m?.[1] || token === "") return false;
  const a = Buffer.from(m[1]);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}
