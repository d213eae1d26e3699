/**
 * Terminal output for every command: human lines on stderr/stdout, or one JSON document on
 * stdout with `--json`. Errors render as message, detail and fix, never as a stack trace.
 *
 * Every human line passes `terminalLine`: text from a sandbox or a server (logs, the agent's
 * answer, model ids, server errors) can carry terminal controls, and only ocbox's own colours
 * reach the terminal. JSON escapes control characters itself.
 */
import { OcboxError, isOcboxError } from "../errors.js";
import { sanitizeTerminalKeeping } from "../util/terminal-text.js";

export interface Output {
  readonly json: boolean;
  readonly verbose: boolean;
  /** A line for people (suppressed with --json). */
  info(line: string): void;
  /** A line that must always be logged, on stderr, even with --json (E13: the resolved model). */
  notice(line: string): void;
  /** Progress noise shown only with --verbose (suppressed with --json). */
  debug(line: string): void;
  /** The command's result: printed as JSON with --json, else by `human`. */
  result<T>(data: T, human: (data: T) => string | string[]): void;
}

const colour = process.stderr.isTTY && !process.env.NO_COLOR;
const COLOURS = { red: 31, green: 32, yellow: 33, dim: 2, bold: 1 } as const;
const paint = (code: number) => (s: string) => (colour ? `\u001b[${code}m${s}\u001b[0m` : s);
export const style = {
  red: paint(COLOURS.red),
  green: paint(COLOURS.green),
  yellow: paint(COLOURS.yellow),
  dim: paint(COLOURS.dim),
  bold: paint(COLOURS.bold),
};
/** The only escape sequences a human line may carry: the ones `style` writes. */
const OWN_SEQUENCES = colour ? [...Object.values(COLOURS), 0].map((c) => `\u001b[${c}m`) : [];

/** A line as it may reach the terminal: every control character escaped but ocbox's colours. */
export function terminalLine(line: string): string {
  return sanitizeTerminalKeeping(line, OWN_SEQUENCES);
}

export function createOutput(json: boolean, verbose: boolean): Output {
  return {
    json,
    verbose,
    info: (line) => {
      if (!json) process.stderr.write(`${terminalLine(line)}\n`);
    },
    notice: (line) => {
      process.stderr.write(`${terminalLine(line)}\n`);
    },
    debug: (line) => {
      if (!json && verbose) process.stderr.write(`${terminalLine(style.dim(line))}\n`);
    },
    result: (data, human) => {
      if (json) {
        process.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
        return;
      }
      const text = human(data);
      const lines = Array.isArray(text) ? text : [text];
      if (lines.length) process.stdout.write(`${terminalLine(lines.join("\n"))}\n`);
    },
  };
}

/** Any thrown value as an OcboxError; an unexpected one keeps its message, not its stack. */
export function asOcboxError(e: unknown): OcboxError {
  if (isOcboxError(e)) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new OcboxError("UNEXPECTED", `unexpected error: ${message}`, {
    fix: "This is a bug in ocbox. Run again with OCBOX_DEBUG=1 for the stack trace and report it.",
    cause: e,
  });
}

export function renderError(e: OcboxError, json: boolean): string {
  if (json) return JSON.stringify({ ok: false, error: e.toJSON() }, null, 2);
  const lines = [`${style.red("error:")} ${e.message}`];
  if (e.detail) lines.push(...e.detail.split("\n").map((l) => style.dim(`  ${l}`)));
  if (e.fix) lines.push(`${style.yellow("fix:")} ${e.fix.split("\n").join("\n     ")}`);
  if (process.env.OCBOX_DEBUG && e.cause instanceof Error && e.cause.stack) lines.push(e.cause.stack);
  return terminalLine(lines.join("\n"));
}
