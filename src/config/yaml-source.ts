/**
 * Where a value sits in a YAML file: from a key path (as zod reports it) to a line and column, and
 * back from an offset to a key path. Pure: works on a parsed `yaml` Document and its LineCounter.
 */
import { isMap, isPair, isScalar, isSeq } from "yaml";
import type { Document, LineCounter } from "yaml";

export interface Located {
  line: number;
  col: number;
  /** The node found at the full path, when the path exists in the file. */
  found: boolean;
  /** The value node there (YAML node), when found. */
  value: unknown;
}

interface Ranged {
  range?: [number, number, number] | null;
}

function start(node: unknown): number | undefined {
  return (node as Ranged | null)?.range?.[0];
}

function keyText(key: unknown): string {
  return isScalar(key) ? String(key.value) : String(key);
}

/**
 * The position of `path` in the document. With `onKey`, the last segment's key is the target (for
 * unknown keys and bad record keys); otherwise its value. A path that is not in the file (a
 * missing key) falls back to the deepest part that is.
 */
export function locate(
  doc: Document,
  lines: LineCounter,
  path: readonly PropertyKey[],
  onKey = false,
): Located {
  let node: unknown = doc.contents;
  let offset = start(node) ?? 0;
  let found = true;
  for (const [i, segment] of path.entries()) {
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && keyText(p.key) === String(segment));
      if (pair === undefined) {
        found = false;
        break;
      }
      const keyStart = start(pair.key);
      const valueStart = start(pair.value);
      offset = (last && onKey ? keyStart : (valueStart ?? keyStart)) ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === "number" && segment < node.items.length) {
      node = node.items[segment];
      offset = start(node) ?? offset;
    } else {
      found = false;
      break;
    }
  }
  const pos = lines.linePos(offset);
  return { line: pos.line, col: pos.col, found, value: found ? node : undefined };
}

/** The key path of the deepest node that contains `offset` (for syntax errors). */
export function pathAt(doc: Document, offset: number): Array<string | number> {
  const path: Array<string | number> = [];
  let node: unknown = doc.contents;
  for (let depth = 0; depth < 64; depth++) {
    let next: unknown;
    if (isMap(node)) {
      for (const pair of node.items) {
        const from = start(pair.key);
        const to = (pair.value as Ranged | null)?.range?.[2] ?? (pair.key as Ranged | null)?.range?.[2];
        if (from !== undefined && to !== undefined && offset >= from && offset < to) {
          path.push(keyText(pair.key));
          next = pair.value;
          break;
        }
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, index) => {
        const range = (item as Ranged | null)?.range;
        if (next === undefined && range && offset >= range[0] && offset < range[2]) {
          path.push(index);
          next = item;
        }
      });
    }
    if (next === undefined) return path;
    node = next;
  }
  return path;
}

/** A YAML node described in words for an error message: `a list`, `"4 gigs"`, `70000`. */
export function describeNode(node: unknown): string | undefined {
  if (node === undefined) return undefined;
  if (isMap(node)) return "a mapping";
  if (isSeq(node)) return "a list";
  if (!isScalar(node)) return "a value";
  const value = node.value;
  if (value === null || value === undefined) return "an empty value";
  if (typeof value === "string")
    return JSON.stringify(value.length > 40 ? `${value.slice(0, 37)}...` : value);
  return typeof value === "number" || typeof value === "boolean" ? String(value) : "a value";
}

/** Dotted key path for messages: `egress.allow[2]`, `env.map.MY_VAR`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let text = "";
  for (const segment of path) {
    if (typeof segment === "number") text += `[${segment}]`;
    else text += text === "" ? String(segment) : `.${String(segment)}`;
  }
  return text;
}
