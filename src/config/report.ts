/**
 * One config error for a person: file, line and column, key path, the offending line, and the fix
 * for each problem; at most a few problems, so the whole report fits on one screen. Pure.
 */
import { OcboxError } from "../errors.js";
import { looksLikeSecret } from "./checks.js";

export interface ConfigIssue {
  line: number;
  col: number;
  /** Dotted key path, or "" where none applies (a syntax error at the top). */
  path: string;
  problem: string;
  fix: string;
  /** The value may be a secret: the source line is shown with its value masked. */
  secret?: boolean;
}

/** Problems shown in full; the rest are counted. */
export const MAX_REPORTED_ISSUES = 3;
const MAX_LINE = 100;

/** A source line for display, with secret-looking values (or the whole value) masked. */
export function maskLine(line: string, wholeValue = false): string {
  const masked = wholeValue
    ? line.replace(/^(\s*(?:-\s+)?(?:[^:#]+:\s+)?).+$/, "$1****")
    : line
        .split(/([\s:"',[\]{}]+)/)
        .map((token) => (looksLikeSecret(token) ? "****" : token))
        .join("");
  return masked.length > MAX_LINE ? `${masked.slice(0, MAX_LINE - 3)}...` : masked;
}

/** Sort by position, drop repeats, and build the error. `text` is the file's content, for context lines. */
export function configError(file: string, issues: readonly ConfigIssue[], text: string): OcboxError {
  const seen = new Set<string>();
  const sorted = [...issues]
    .sort((a, b) => a.line - b.line || a.col - b.col)
    .filter((issue) => {
      const key = `${issue.line}:${issue.path}:${issue.problem}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
  const sourceLines = text.split(/\r?\n/);
  const out: string[] = [];
  if (sorted.length > 1) out.push(`${file} has ${sorted.length} problems:`);
  for (const issue of sorted.slice(0, MAX_REPORTED_ISSUES)) {
    const where = issue.path === "" ? "" : `${issue.path}: `;
    out.push(`${file}:${issue.line}:${issue.col}: ${where}${issue.problem}`);
    const source = sourceLines[issue.line - 1];
    if (source !== undefined && source.trim() !== "") {
      out.push(
        `  ${String(issue.line).padStart(4)} | ${maskLine(source.replace(/\t/g, "→"), issue.secret === true)}`,
      );
    }
    out.push(`  fix: ${issue.fix}`);
  }
  const rest = sorted.length - MAX_REPORTED_ISSUES;
  if (rest > 0) out.push(`... and ${rest} more; fix these first, then run again.`);
  return new OcboxError("CONFIG", out.join("\n"), {
    fix: `Edit ${file} as each "fix:" line says. Editors check it as you type with ocbox's schema/ocbox.schema.json.`,
  });
}
