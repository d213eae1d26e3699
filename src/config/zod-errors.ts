/**
 * zod issues in words a person can act on: what is wrong and the fix. Pure.
 *
 * Checks written for ocbox (checks.ts) carry their own fix in `params.fix`; zod's built-in checks
 * (types, ranges, unknown keys) are explained here, with help from the schema itself (the allowed
 * keys of an object, both bounds of a number).
 */
import { z } from "zod";
import { didYouMean } from "./did-you-mean.js";

/** One line per issue: `path.to.key: message`. */
export function formatZodIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const path = issue.path.length === 0 ? "(top level)" : issue.path.map(String).join(".");
      return `${path}: ${issue.message}`;
    })
    .join("\n");
}

export interface Explained {
  problem: string;
  fix: string;
  secret?: boolean;
}

/** What the file holds at the issue's path, in words (`a list`, `"4 gigs"`); undefined if absent. */
export interface IssueContext {
  received?: string;
}

interface LooseDef {
  type: string;
  innerType?: z.ZodType;
  in?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
  valueType?: z.ZodType;
}

function defOf(schema: z.ZodType): LooseDef {
  return schema._zod.def;
}

/** Optional, default, prefault, nullable and pipe wrappers removed. */
export function unwrapSchema(schema: z.ZodType): z.ZodType {
  let current = schema;
  for (let i = 0; i < 20; i++) {
    const def = defOf(current);
    const inner = def.innerType ?? (def.type === "pipe" ? def.in : undefined);
    if (inner === undefined) return current;
    current = inner;
  }
  return current;
}

/** The schema that validates the value at `path`, or undefined where the path leaves the schema. */
export function schemaAt(root: z.ZodType, path: readonly PropertyKey[]): z.ZodType | undefined {
  let current: z.ZodType | undefined = root;
  for (const segment of path) {
    if (current === undefined) return undefined;
    const def = defOf(unwrapSchema(current));
    if (def.type === "object") current = def.shape?.[String(segment)];
    else if (def.type === "array") current = def.element;
    else if (def.type === "record") current = def.valueType;
    else return undefined;
  }
  return current === undefined ? undefined : unwrapSchema(current);
}

/** The keys an object schema allows, or [] if the schema there is not an object. */
export function keysAt(root: z.ZodType, path: readonly PropertyKey[]): string[] {
  const schema = schemaAt(root, path);
  if (schema === undefined) return [];
  const def = defOf(schema);
  return def.type === "object" ? Object.keys(def.shape ?? {}) : [];
}

/** Every object key path in the schema (records and arrays are not entered), for "did you mean". */
export function allKeyPaths(root: z.ZodType, prefix: readonly string[] = []): string[][] {
  const def = defOf(unwrapSchema(root));
  if (def.type !== "object") return [];
  return Object.entries(def.shape ?? {}).flatMap(([key, child]) => [
    [...prefix, key],
    ...allKeyPaths(child, [...prefix, key]),
  ]);
}

const EXPECTED: Record<string, { words: string; fix: string }> = {
  string: { words: "text", fix: 'write text; quote it if it looks like a number or true/false: "8080"' },
  number: { words: "a number", fix: "write a number without quotes or units, e.g. 8080" },
  int: { words: "a whole number", fix: "write a whole number without quotes, e.g. 8080" },
  boolean: { words: "true or false", fix: "write true or false without quotes" },
  array: { words: "a list", fix: "write a list: [a, b] or one '- item' line per entry" },
  object: { words: "a mapping", fix: "write 'key: value' lines indented under this key" },
  record: { words: "a mapping", fix: "write 'NAME: value' lines indented under this key" },
};

function bound(value: number | bigint, inclusive: boolean | undefined, side: "min" | "max"): string {
  if (inclusive !== false) return side === "min" ? `at least ${value}` : `at most ${value}`;
  return side === "min" ? `more than ${value}` : `less than ${value}`;
}

/** A number, list or text out of its bounds: the bound, and the whole range where the schema has one. */
function explainBound(
  issue: z.core.$ZodIssueTooBig | z.core.$ZodIssueTooSmall,
  root: z.ZodType,
  got: string,
): Explained {
  const schema = schemaAt(root, issue.path);
  const numeric = schema instanceof z.ZodNumber ? schema : undefined;
  if (issue.origin === "array") {
    const n = issue.code === "too_small" ? issue.minimum : issue.maximum;
    return {
      problem: issue.code === "too_small" ? `needs at least ${n} item(s)` : `has more than ${n} items`,
      fix: "change the number of list items",
    };
  }
  if (issue.origin === "string") {
    return {
      problem: issue.code === "too_small" ? "is empty or too short" : "is too long",
      fix: "shorten or fill in the text",
    };
  }
  // Both bounds, read back through the public JSON Schema view of the number.
  const json: Record<string, unknown> = numeric ? z.toJSONSchema(numeric) : {};
  const num = (key: string): number | undefined => (typeof json[key] === "number" ? json[key] : undefined);
  const bag = {
    minimum: num("minimum"),
    maximum: num("maximum"),
    exclusiveMinimum: num("exclusiveMinimum"),
    exclusiveMaximum: num("exclusiveMaximum"),
  };
  const lower = bag.exclusiveMinimum ?? bag.minimum;
  const upper = bag.exclusiveMaximum ?? bag.maximum;
  const limit =
    issue.code === "too_small"
      ? bound(issue.minimum, issue.inclusive, "min")
      : bound(issue.maximum, issue.inclusive, "max");
  const range =
    lower !== undefined && upper !== undefined && Number.isFinite(lower) && Number.isFinite(upper)
      ? bag.exclusiveMinimum === undefined && bag.exclusiveMaximum === undefined
        ? `use a number from ${lower} to ${upper}`
        : `use a number ${bound(lower, bag.exclusiveMinimum === undefined, "min")} and ${bound(upper, bag.exclusiveMaximum === undefined, "max")}`
      : `use a number ${limit}`;
  return { problem: `must be ${limit}${got}`, fix: range };
}

/** A key the schema does not know: the nearest allowed one, or the list. */
function explainUnknownKey(issue: z.core.$ZodIssueUnrecognizedKeys, root: z.ZodType): Explained {
  const allowed = keysAt(root, issue.path);
  const key = issue.keys[0] ?? "";
  const guess = didYouMean(key, allowed);
  if (guess !== undefined)
    return {
      problem: `unknown key "${key}"; did you mean "${guess}"?`,
      fix: `rename "${key}" to "${guess}"`,
    };
  return {
    problem: `unknown key "${key}"`,
    fix: allowed.length ? `remove it; keys allowed here: ${allowed.join(", ")}` : "remove it",
  };
}

/** Explain one issue. `root` is the schema the issue came from (for bounds and allowed keys). */
export function explainIssue(
  issue: z.core.$ZodIssue,
  root: z.ZodType,
  context: IssueContext = {},
): Explained {
  const got = context.received === undefined ? "" : `, got ${context.received}`;
  switch (issue.code) {
    case "invalid_type": {
      if (context.received === undefined && issue.expected !== "nonoptional") {
        const want = EXPECTED[issue.expected]?.words ?? issue.expected;
        return { problem: `is missing (${want} is required)`, fix: `add this key with ${want}` };
      }
      const want = EXPECTED[issue.expected] ?? { words: issue.expected, fix: `write ${issue.expected}` };
      return { problem: `expected ${want.words}${got}`, fix: want.fix };
    }
    case "too_big":
    case "too_small":
      return explainBound(issue, root, got);
    case "invalid_format":
      // A message written in the schema (`.regex(re, "use …")`) is the fix; zod's own says what is wrong.
      if (issue.message.startsWith("Invalid")) {
        return {
          problem: `${issue.message.replace(/^Invalid string: /, "")}${got}`,
          fix: "correct the value's format",
        };
      }
      return { problem: `is not valid${got}`, fix: issue.message };
    case "not_multiple_of":
      return {
        problem: `must be a multiple of ${issue.divisor}${got}`,
        fix: `use a multiple of ${issue.divisor}`,
      };
    case "unrecognized_keys":
      return explainUnknownKey(issue, root);
    case "invalid_union": {
      const expected = issue.errors.flatMap((branch) =>
        branch.flatMap((i) => (i.code === "invalid_type" ? [i.expected] : [])),
      );
      const words = [...new Set(expected)].map((e) => EXPECTED[e]?.words ?? e);
      return {
        problem: `expected ${words.length ? words.join(" or ") : "another kind of value"}${got}`,
        fix: words.length ? `write ${words.join(" or ")}` : "see the schema for this key",
      };
    }
    case "invalid_key": {
      const inner = issue.issues[0];
      if (inner === undefined) return { problem: "is not an allowed name", fix: "rename it" };
      const explained = explainIssue({ ...inner, path: [] }, z.string(), {});
      // ocbox's own checks name the key in their message; zod's need the word.
      const problem = inner.code === "custom" ? explained.problem : `key ${explained.problem}`;
      return { problem, fix: explained.fix, ...(explained.secret ? { secret: true } : {}) };
    }
    case "invalid_element":
      return { problem: "has an invalid entry", fix: "correct the entry" };
    case "invalid_value": {
      const values = issue.values.map((v) => JSON.stringify(v));
      return { problem: `must be one of ${values.join(", ")}${got}`, fix: `use one of ${values.join(", ")}` };
    }
    case "custom": {
      const params: Record<string, unknown> = issue.params ?? {};
      const fix = typeof params["fix"] === "string" ? params["fix"] : "correct the value";
      return { problem: issue.message, fix, ...(params["secret"] === true ? { secret: true } : {}) };
    }
  }
  return { problem: "is not valid", fix: "correct the value" };
}
