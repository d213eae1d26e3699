/**
 * Parse and validate the text of `ocbox.yaml`. Pure: text in, config or OcboxError("CONFIG") out.
 *
 * Full YAML 1.2 through the `yaml` package. Syntax errors (tabs, duplicate keys, bad indentation)
 * and schema errors alike are reported with file, line, column, key path and fix (report.ts). A key
 * with an empty value (`egress:` with everything under it commented out) counts as not set, and an
 * empty file gives every default.
 */
import { LineCounter, parseDocument } from "yaml";
import type { Document, YAMLError } from "yaml";
import type { z } from "zod";
import { didYouMean, normaliseKey } from "./did-you-mean.js";
import { projectConfigSchema, REMOVED_KEYS, RENAMED_KEYS } from "./project-schema.js";
import type { ProjectConfig } from "./project-schema.js";
import { configError } from "./report.js";
import type { ConfigIssue } from "./report.js";
import { describeNode, formatPath, locate, pathAt } from "./yaml-source.js";
import { allKeyPaths, explainIssue } from "./zod-errors.js";

const SYNTAX_FIXES: Record<string, string> = {
  DUPLICATE_KEY: "keep one of them: a key may appear only once in a mapping",
  TAB_AS_INDENT: "indent with spaces, not tabs",
  MULTIPLE_DOCS: "keep one document: remove the extra '---' line",
  MISSING_CHAR: "close the bracket, brace or quote opened on this line",
  BAD_INDENT: "line the entry up with its siblings, and close any [ or { that is open",
  BLOCK_AS_IMPLICIT_KEY:
    "put the nested mapping on its own indented lines, or quote a value that contains ': '",
  MULTILINE_IMPLICIT_KEY: "a key must fit on one line; check the indentation and any open quote",
  UNEXPECTED_TOKEN: "check the indentation, and quote values that start with a special character",
};

function syntaxIssue(error: YAMLError, doc: Document, lines: LineCounter): ConfigIssue {
  const offset = error.pos[0];
  const pos = lines.linePos(offset);
  const first = (error.message.split("\n")[0] ?? error.message).replace(/ at line \d+, column \d+:?$/, "");
  return {
    line: pos.line,
    col: pos.col,
    // The key path helps for a duplicate key; elsewhere the parser's position is more telling.
    path: error.code === "DUPLICATE_KEY" ? formatPath(pathAt(doc, offset)) : "",
    problem: `YAML syntax: ${first}`,
    fix: SYNTAX_FIXES[error.code] ?? "check the indentation and quoting on this line",
  };
}

/** Map values that are null (a key with nothing after it) are treated as not set. */
function dropEmpty(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(dropEmpty);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, v]) => v !== null && v !== undefined)
      .map(([k, v]) => [k, dropEmpty(v)]),
  );
}

/** "Move it to allow: under egress:" for a dotted target path. */
function moveTo(target: string): string {
  const parts = target.split(".");
  const leaf = parts.pop() ?? target;
  return parts.length === 0 ? `rename it to ${leaf}:` : `move it to ${leaf}: under ${parts.join(": ")}:`;
}

function unknownKeyIssue(doc: Document, lines: LineCounter, path: PropertyKey[], key: string): ConfigIssue {
  const at = locate(doc, lines, [...path, key], true);
  const base = { line: at.line, col: at.col, path: formatPath([...path, key]) };
  const removed = REMOVED_KEYS[formatPath([...path, key])];
  if (removed !== undefined) {
    return { ...base, problem: `"${key}" is no longer a key (${removed.why})`, fix: removed.fix };
  }
  const renamed = RENAMED_KEYS[formatPath([...path, key])];
  if (renamed !== undefined) {
    const note = renamed.note === undefined ? "" : ` (${renamed.note})`;
    return {
      ...base,
      problem: `unknown key "${key}"; did you mean "${renamed.to}"?${note}`,
      fix: moveTo(renamed.to),
    };
  }
  const explained = explainIssue(
    { code: "unrecognized_keys", keys: [key], path, message: "" },
    projectConfigSchema,
  );
  if (explained.problem.includes("did you mean")) return { ...base, ...explained };
  // The right key in the wrong place: `allow` at the top instead of under `egress`.
  const elsewhere = allKeyPaths(projectConfigSchema).find(
    (p) => normaliseKey(p.at(-1) ?? "") === normaliseKey(key),
  );
  if (elsewhere === undefined) return { ...base, ...explained };
  const target = elsewhere.join(".");
  return { ...base, problem: `unknown key "${key}" here; did you mean "${target}"?`, fix: moveTo(target) };
}

function schemaIssues(error: z.ZodError, doc: Document, lines: LineCounter): ConfigIssue[] {
  return error.issues.flatMap((issue): ConfigIssue[] => {
    if (issue.code === "unrecognized_keys") {
      return issue.keys.map((key) => unknownKeyIssue(doc, lines, issue.path, key));
    }
    const at = locate(doc, lines, issue.path, issue.code === "invalid_key");
    const params: Record<string, unknown> = issue.code === "custom" ? (issue.params ?? {}) : {};
    const secret = params["secret"] === true;
    const received = secret || issue.code === "invalid_key" ? undefined : describeNode(at.value);
    const explained = explainIssue(issue, projectConfigSchema, received === undefined ? {} : { received });
    const candidates = Array.isArray(params["candidates"]) ? params["candidates"].map(String) : [];
    const value: unknown = (at.value as { value?: unknown } | undefined)?.value;
    const guess = typeof value === "string" ? didYouMean(value, candidates) : undefined;
    if (issue.path.length === 0 && issue.code === "invalid_type") {
      explained.problem = `the file must be a mapping of keys${received ? `, got ${received}` : ""}`;
      explained.fix = "start lines at the left margin with keys such as name:, egress:, env:";
    }
    return [
      {
        line: at.line,
        col: at.col,
        path: formatPath(issue.path),
        problem: guess ? `${explained.problem}; did you mean "${guess}"?` : explained.problem,
        fix: explained.fix,
        secret: secret || explained.secret === true,
      },
    ];
  });
}

/** Parse `ocbox.yaml` text. `file` names the file in error messages. */
export function parseProjectConfig(text: string, file: string): ProjectConfig {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0)
    throw configError(
      file,
      doc.errors.map((e) => syntaxIssue(e, doc, lines)),
      text,
    );
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    const problem = e instanceof Error ? e.message : String(e);
    throw configError(
      file,
      [
        {
          line: 1,
          col: 1,
          path: "",
          problem: `YAML: ${problem}`,
          fix: "remove the alias (*name) or define its anchor (&name) first",
        },
      ],
      text,
    );
  }
  const result = projectConfigSchema.safeParse(dropEmpty(data) ?? {});
  if (!result.success) throw configError(file, schemaIssues(result.error, doc, lines), text);
  return result.data;
}
