/**
 * One-time login codes and browser sessions for the web front. Pure over an injected clock: a code
 * is random, works once, and expires after `ttlMs`; a session token lives as long as the front.
 */
import { randomBytes, timingSafeEqual } from "node:crypto";

export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export const LOGIN_TTL_MS = 60_000;

const token = () => randomBytes(24).toString("base64url");

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export class LoginCodes {
  private readonly codes = new Map<string, number>();
  private readonly sessions: string[] = [];

  constructor(
    private readonly clock: Clock = systemClock,
    private readonly ttlMs = LOGIN_TTL_MS,
  ) {}

  /** A new single-use code. */
  mint(): string {
    const code = token();
    this.codes.set(code, this.clock.now() + this.ttlMs);
    return code;
  }

  /** Spend a code: a new session token if the code is valid and fresh, else undefined. */
  redeem(code: string): string | undefined {
    const now = this.clock.now();
    for (const [c, expires] of this.codes) if (expires <= now) this.codes.delete(c);
    const expires = this.codes.get(code);
    if (expires === undefined) return undefined;
    this.codes.delete(code);
    const session = token();
    this.sessions.push(session);
    return session;
  }

  isSession(value: string | undefined): boolean {
    if (!value) return false;
    return this.sessions.some((s) => sameText(s, value));
  }
}

/** The value of cookie `name` in a Cookie header, or undefined. Pure. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
