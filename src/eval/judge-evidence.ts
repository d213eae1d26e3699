/**
 * What the judge is shown besides the task: the agent's session (its messages, tool calls and
 * their output, from the unit's session.json) and the listing of its final workspace. Both were
 * written by the agent under test and the programs it ran, so both are hostile input: rendered
 * as plain text, control characters dropped, capped, and fenced with a backtick run longer than
 * any in the content, so nothing inside can close the fence and speak as the prompt. Pure.
 */
import { sessionMessageSchema, toolPartSchema } from "../opencode/answers.js";

export interface EvidenceLimits {
  /** Characters of the rendered session kept (head and tail, the middle left out). */
  sessionChars: number;
  /** Characters of one text part, tool input or tool output. */
  partChars: number;
  /** Workspace entries listed. */
  listingEntries: number;
}

export const EVIDENCE_LIMITS: EvidenceLimits = {
  sessionChars: 24_000,
  partChars: 2_000,
  listingEntries: 300,
};

/** A fenced, capped block of untrusted text, ready for the prompt. */
export interface Evidence {
  text: string;
  /** Characters (session) or entries (listing) left out by a cap. */
  leftOut: number;
}

/** Control characters but tab and newline, and the bidi overrides that hide text, dropped. */
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;
export const plain = (s: string): string => s.replace(UNSAFE, "");

/** `s` cut to `max` characters, saying how much was left out. */
export function cut(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max)} [… ${s.length - max} more characters left out]`;
}

/** A code fence no line of `body` can close: one backtick more than its longest run (at least 3). */
export function fence(body: string, info: string): string {
  const longest = Math.max(0, ...(body.match(/`+/g) ?? []).map((r) => r.length));
  const ticks = "`".repeat(Math.max(3, longest + 1));
  return `${ticks}${info}\n${body}\n${ticks}`;
}

const asText = (v: unknown): string => (typeof v === "string" ? v : (JSON.stringify(v) ?? ""));

/** One part of a message as lines of text; undefined for a part the judge has no use for. */
function partText(part: Record<string, unknown>, max: number): string | undefined {
  const tool = toolPartSchema.safeParse(part);
  if (tool.success) {
    const state = (tool.data.state ?? {}) as Record<string, unknown>;
    const lines = [`[tool call: ${tool.data.tool}, ${asText(state.status ?? "?")}]`];
    if (state.input !== undefined) lines.push(`input: ${cut(asText(state.input), max)}`);
    if (state.output !== undefined) lines.push(`output: ${cut(asText(state.output), max)}`);
    if (state.error !== undefined) lines.push(`error: ${cut(asText(state.error), max)}`);
    return lines.join("\n");
  }
  if (part.type === "text" && typeof part.text === "string") return cut(part.text, max);
  if (part.type === "reasoning" && typeof part.text === "string") return `[reasoning] ${cut(part.text, max)}`;
  return undefined;
}

/** The session as a plain transcript: one block per message, its role, then its parts. */
export function sessionTranscript(exported: unknown, max = EVIDENCE_LIMITS.partChars): string {
  const raw = (exported as { messages?: unknown } | null)?.messages;
  const messages: unknown[] = Array.isArray(raw) ? raw : [];
  const blocks: string[] = [];
  for (const m of messages) {
    const parsed = sessionMessageSchema.safeParse(m);
    if (!parsed.success) continue;
    const parts = parsed.data.parts.map((p) => partText(p, max)).filter((t) => t !== undefined);
    if (parts.length) blocks.push([`--- ${asText(parsed.data.info.role ?? "message")}`, ...parts].join("\n"));
  }
  return plain(blocks.join("\n"));
}

/** The session, capped (its first quarter and last three quarters kept) and fenced. */
export function sessionEvidence(exported: unknown, limits: EvidenceLimits = EVIDENCE_LIMITS): Evidence {
  const full = sessionTranscript(exported, limits.partChars);
  if (!full) return { text: "(no session was recorded for this run)", leftOut: 0 };
  let body = full;
  let leftOut = 0;
  if (full.length > limits.sessionChars) {
    const head = Math.floor(limits.sessionChars / 4);
    const tail = limits.sessionChars - head;
    leftOut = full.length - limits.sessionChars;
    body = `${full.slice(0, head)}\n[… ${leftOut} characters of the session left out …]\n${full.slice(-tail)}`;
  }
  return { text: fence(body, "text session"), leftOut };
}

export interface ListedEntry {
  /** Relative path, `/`-separated. */
  path: string;
  kind: "file" | "dir" | "link" | "other";
  size: number;
}

/** The workspace's entries, one a line, capped and fenced; a name with odd characters is quoted. */
export function listingEvidence(
  entries: readonly ListedEntry[],
  limits: EvidenceLimits = EVIDENCE_LIMITS,
  /** Entries the workspace holds, when `entries` is already cut. */
  total = entries.length,
): Evidence {
  if (!total) return { text: "(the final workspace is empty)", leftOut: 0 };
  const shown = entries.slice(0, limits.listingEntries).map((e) => {
    const name = /^[\w./@+,=:~-]+$/.test(e.path) ? e.path : JSON.stringify(e.path);
    return e.kind === "file"
      ? `${name} (${e.size} bytes)`
      : `${name}${e.kind === "dir" ? "/" : ` (${e.kind})`}`;
  });
  const leftOut = total - shown.length;
  if (leftOut) shown.push(`[… ${leftOut} more entries left out]`);
  return { text: fence(plain(shown.join("\n")), "text files"), leftOut };
}
