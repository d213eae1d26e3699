/**
 * Extraction of the Agent Contract object from an agent's final text (FEATURES E3).
 *
 * When OpenCode's structured output is not used, the agent is asked to end its reply with one fenced
 * ```json block. Models do not always comply, so three strategies run in order and the first that
 * yields a JSON object wins:
 *
 * 1. `fenced`: a fenced code block tagged `json` (any case) or untagged whose body is a JSON object.
 *    With several blocks the last one that parses wins: the answer comes after any examples.
 * 2. `whole`: the whole text, trimmed, is a JSON object.
 * 3. `trailing-braces`: the last balanced `{…}` in the text that parses as a JSON object, found by
 *    walking back from each `}`. Braces inside JSON strings do not count. An object that is an element
 *    of an array (`[{…}]`) is not taken: a top-level array is not a contract.
 *
 * Only objects count; arrays, strings and numbers are never a contract. The input is normalised
 * first: a leading byte order mark is dropped and CRLF / CR line ends become LF.
 *
 * An optional `accept` predicate (for example "validates against the role's schema") lets a caller
 * look past objects that parse but are not the contract, such as a `package.json` shown after the
 * answer. Without an accepted candidate the result is the first candidate found, so the caller can
 * still report why it is not valid. Everything here is pure and linear-ish in the input size.
 */

export type ExtractionStrategy = "fenced" | "whole" | "trailing-braces";

export type JsonObject = Record<string, unknown>;

export interface Extraction {
  value: JsonObject;
  strategy: ExtractionStrategy;
}

/** Decides whether a parsed object is the contract; a rejected object makes the search go on. */
export type AcceptCandidate = (value: JsonObject) => boolean;

const acceptAll: AcceptCandidate = () => true;

/** Drops a leading BOM and turns CRLF and lone CR into LF. */
export function normalizeText(text: string): string {
  const withoutBom = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  return withoutBom.includes("\r") ? withoutBom.replace(/\r\n?/g, "\n") : withoutBom;
}

/** `JSON.parse` that returns only plain objects (never arrays or scalars) and never throws. */
export function parseJsonObject(text: string): JsonObject | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  return isJsonObject(value) ? value : undefined;
}

function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Runs the strategies in order; see the module comment. */
export function extractContract(text: string, accept: AcceptCandidate = acceptAll): Extraction | undefined {
  const normalized = normalizeText(text);
  if (normalized.trim() === "") return undefined;
  const strategies: [ExtractionStrategy, (t: string) => Iterable<JsonObject>][] = [
    ["fenced", fencedCandidates],
    ["whole", wholeCandidates],
    ["trailing-braces", trailingBraceCandidates],
  ];
  let first: Extraction | undefined;
  for (const [strategy, candidates] of strategies) {
    for (const value of candidates(normalized)) {
      if (accept(value)) return { value, strategy };
      first ??= { value, strategy };
    }
  }
  return first;
}

/** Strategy 1 alone: the last fenced `json` or untagged block that is an accepted JSON object. */
export function extractFenced(text: string, accept: AcceptCandidate = acceptAll): JsonObject | undefined {
  return firstAccepted(fencedCandidates(normalizeText(text)), accept);
}

/** Strategy 2 alone: the whole trimmed text as a JSON object. */
export function extractWhole(text: string): JsonObject | undefined {
  return firstAccepted(wholeCandidates(normalizeText(text)), acceptAll);
}

/** Strategy 3 alone: the last balanced `{…}` that is an accepted JSON object. */
export function extractTrailingBraces(
  text: string,
  accept: AcceptCandidate = acceptAll,
): JsonObject | undefined {
  return firstAccepted(trailingBraceCandidates(normalizeText(text)), accept);
}

function firstAccepted(candidates: Iterable<JsonObject>, accept: AcceptCandidate): JsonObject | undefined {
  for (const value of candidates) if (accept(value)) return value;
  return undefined;
}

// ---------------------------------------------------------------------------------------------------
// Fenced blocks

interface FencedBlock {
  info: string;
  body: string;
}

const OPENING_FENCE = /^[ \t]*(`{3,}|~{3,})[ \t]*([^\n]*)$/;
const CLOSING_FENCE = /^[ \t]*(`{3,}|~{3,})[ \t]*$/;

/**
 * Fenced code blocks in document order, CommonMark style: the closing fence uses the same character,
 * at least as many of them, and nothing else on the line. An unclosed block runs to the end.
 */
export function fencedBlocks(text: string): FencedBlock[] {
  const lines = normalizeText(text).split("\n");
  const blocks: FencedBlock[] = [];
  let open: { fence: string; info: string; body: string[] } | undefined;
  for (const line of lines) {
    if (open) {
      const close = CLOSING_FENCE.exec(line);
      const fence = close?.[1];
      if (fence !== undefined && fence[0] === open.fence[0] && fence.length >= open.fence.length) {
        blocks.push({ info: open.info, body: open.body.join("\n") });
        open = undefined;
      } else {
        open.body.push(line);
      }
      continue;
    }
    const opening = OPENING_FENCE.exec(line);
    const fence = opening?.[1];
    const info = (opening?.[2] ?? "").trim();
    // A backtick fence's info string may not contain backticks (that is inline code, not a fence).
    if (fence === undefined || (fence.startsWith("`") && info.includes("`"))) continue;
    open = { fence, info, body: [] };
  }
  if (open) blocks.push({ info: open.info, body: open.body.join("\n") });
  return blocks;
}

function isJsonInfo(info: string): boolean {
  const language = info.split(/\s+/, 1)[0]?.toLowerCase() ?? "";
  return language === "" || language === "json";
}

function* fencedCandidates(text: string): Generator<JsonObject> {
  const blocks = fencedBlocks(text).filter((block) => isJsonInfo(block.info));
  for (let i = blocks.length - 1; i >= 0; i--) {
    const body = blocks[i]?.body.trim();
    if (!body?.startsWith("{")) continue;
    const value = parseJsonObject(body);
    if (value) yield value;
  }
}

// ---------------------------------------------------------------------------------------------------
// Whole document

function* wholeCandidates(text: string): Generator<JsonObject> {
  const trimmed = text.trim();
  if (!trimmed.startsWith("{")) return;
  const value = parseJsonObject(trimmed);
  if (value) yield value;
}

// ---------------------------------------------------------------------------------------------------
// Trailing balanced braces

/**
 * Work cap for the backward brace search, in characters visited, as a multiple of the input length.
 * Ordinary text needs one or two passes; the cap only bounds adversarial input (say a megabyte of
 * stray `}`), where the search gives up instead of going quadratic.
 */
const BRACE_SCAN_BUDGET_FACTOR = 8;
const BRACE_SCAN_BUDGET_MIN = 1_000_000;

const BACKSLASH = 0x5c;
const QUOTE = 0x22;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

/**
 * Finds the `{` that balances the `}` at `end`, walking backwards. Inside valid JSON a quote opens or
 * closes a string exactly when an even number of backslashes precedes it, so strings can be tracked
 * backwards too. Returns the start index, or -1, and the number of characters visited.
 */
export function matchingOpenBrace(text: string, end: number): { start: number; visited: number } {
  let depth = 0;
  let inString = false;
  for (let i = end; i >= 0; i--) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      let backslashes = 0;
      while (i - 1 - backslashes >= 0 && text.charCodeAt(i - 1 - backslashes) === BACKSLASH) backslashes++;
      if (backslashes % 2 === 0) inString = !inString;
    } else if (!inString) {
      if (c === CLOSE_BRACE) depth++;
      else if (c === OPEN_BRACE && --depth === 0) return { start: i, visited: end - i + 1 };
    }
  }
  return { start: -1, visited: end + 1 };
}

function* trailingBraceCandidates(text: string): Generator<JsonObject> {
  let budget = Math.max(BRACE_SCAN_BUDGET_MIN, text.length * BRACE_SCAN_BUDGET_FACTOR);
  let end = text.lastIndexOf("}");
  while (end >= 0 && budget > 0) {
    const { start, visited } = matchingOpenBrace(text, end);
    budget -= visited;
    const value = start >= 0 ? parseJsonObject(text.slice(start, end + 1)) : undefined;
    if (!value) {
      end = end === 0 ? -1 : text.lastIndexOf("}", end - 1);
      continue;
    }
    if (!isArrayElement(text, start, end)) yield value;
    // Objects nested in this one are not top-level candidates: go on before its start.
    end = start === 0 ? -1 : text.lastIndexOf("}", start - 1);
  }
}

/** True when the object at [start, end] sits between `[`/`,` and `,`/`]`, i.e. inside a JSON array. */
function isArrayElement(text: string, start: number, end: number): boolean {
  const before = previousNonSpace(text, start - 1);
  const after = nextNonSpace(text, end + 1);
  return (before === "[" || before === ",") && (after === "]" || after === ",");
}

function previousNonSpace(text: string, from: number): string | undefined {
  for (let i = from; i >= 0; i--) {
    const c = text[i];
    if (c !== undefined && !/\s/.test(c)) return c;
  }
  return undefined;
}

function nextNonSpace(text: string, from: number): string | undefined {
  for (let i = from; i < text.length; i++) {
    const c = text[i];
    if (c !== undefined && !/\s/.test(c)) return c;
  }
  return undefined;
}
