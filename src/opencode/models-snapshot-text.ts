/**
 * The models.dev snapshot bundled in the pinned OpenCode binary, as data: the minified object
 * literal `({deepinfra:{id:"deepinfra",env:[…],npm:…,models:{…}},…})` that OpenCode falls back to
 * when it has no models file, read with a JavaScript parser and turned into the JSON that
 * OpenCode's `OPENCODE_MODELS_PATH` file holds (the same shape: a test checks that OpenCode serves
 * the same providers from it). Only data is accepted: objects, arrays, strings, numbers, `null`,
 * booleans (minified as `!0` and `!1`); anything else throws. Checked against opencode-ai 1.18.33.
 * Pure.
 */
import type { Expression, Node, Property, SpreadElement } from "acorn";

/** Provider id → its models.dev entry (`id`, `env`, `npm`, `name`, `models`, …). */
export type ModelsSnapshot = Record<string, Record<string, unknown>>;

/** What opens the literal: `({id:{id:"id",env:[` (its first provider, quoted or not). */
const OPENING = /\(\{("?)([a-z0-9][\w.-]*)\1:\{id:"\2",env:\[/;

/** Where the literal starts in the binary's bytes (at its `{`), or undefined. */
export function snapshotOffset(bytes: Buffer): number | undefined {
  // latin1 keeps one character per byte, so the match's index is the byte offset.
  const m = OPENING.exec(bytes.toString("latin1"));
  return m ? m.index + 1 : undefined;
}

/** The literal at `source`'s start (the binary's UTF-8 text from `snapshotOffset` on), as data. */
export function parseSnapshot(
  source: string,
  parse: (source: string) => Expression,
): ModelsSnapshot | undefined {
  const value = toData(parse(source));
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  const out: ModelsSnapshot = {};
  for (const [id, entry] of Object.entries(value)) {
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) return undefined;
    const e = entry as Record<string, unknown>;
    if (e.id !== id || typeof e.models !== "object" || e.models === null) return undefined;
    out[id] = e;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

export class NotData extends Error {}

/** A literal node as the value it denotes; throws NotData for anything that is not data. */
function toData(node: Node): unknown {
  switch (node.type) {
    case "ObjectExpression": {
      const out: Record<string, unknown> = {};
      for (const p of (node as unknown as { properties: Array<Property | SpreadElement> }).properties) {
        if (p.type !== "Property" || p.kind !== "init" || p.computed || p.method || p.shorthand)
          throw new NotData(`not a plain property at ${p.start}`);
        const key =
          p.key.type === "Identifier"
            ? p.key.name
            : p.key.type === "Literal" && (typeof p.key.value === "string" || typeof p.key.value === "number")
              ? String(p.key.value)
              : undefined;
        if (key === undefined) throw new NotData(`not a plain key at ${p.key.start}`);
        // A `__proto__` key would set the prototype of `out`, not a property.
        Object.defineProperty(out, key, {
          value: toData(p.value),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return out;
    }
    case "ArrayExpression": {
      const elements = (node as unknown as { elements: Array<Node | null> }).elements;
      return elements.map((e) => {
        if (e === null || e.type === "SpreadElement")
          throw new NotData(`not a plain element in ${node.start}`);
        return toData(e);
      });
    }
    case "Literal": {
      const v = (node as unknown as { value: unknown }).value;
      if (v === null || typeof v === "string" || typeof v === "number" || typeof v === "boolean") return v;
      throw new NotData(`not a plain literal at ${node.start}`);
    }
    case "UnaryExpression": {
      const { operator, argument } = node as unknown as { operator: string; argument: Node };
      const v = argument.type === "Literal" ? (argument as unknown as { value: unknown }).value : undefined;
      if (operator === "!" && (v === 0 || v === 1)) return v === 0;
      if (operator === "-" && typeof v === "number") return -v;
      throw new NotData(`not data: ${operator} at ${node.start}`);
    }
    default:
      throw new NotData(`not data: ${node.type} at ${node.start}`);
  }
}
