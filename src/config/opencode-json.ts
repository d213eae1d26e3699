/**
 * The project's own OpenCode config (`opencode.json` or `opencode.jsonc` at the workspace root).
 * OpenCode reads it itself inside the sandbox; ocbox reads it to learn which model endpoints the
 * sandbox must reach (a base URL on 127.0.0.1 is forwarded) and to report the resolved endpoint.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { parse, printParseErrorCode, type ParseError } from "jsonc-parser";
import { OcboxError } from "../errors.js";

export const OPENCODE_CONFIG_FILES = ["opencode.json", "opencode.jsonc"] as const;

/** Parse JSON with comments and trailing commas. Pure. */
export function parseOpencodeConfig(text: string, file: string): Record<string, unknown> {
  const errors: ParseError[] = [];
  const value: unknown = parse(text, errors, { allowTrailingComma: true, disallowComments: false });
  const first = errors[0];
  if (first) {
    const before = text.slice(0, first.offset);
    const line = before.split("\n").length;
    const col = first.offset - before.lastIndexOf("\n");
    throw new OcboxError(
      "CONFIG",
      `${file}:${line}:${col}: not valid JSON: ${printParseErrorCode(first.error)}`,
      {
        fix: `Fix the JSON at line ${line} of ${file}; OpenCode would refuse it too.`,
      },
    );
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new OcboxError("CONFIG", `${file}: the top level must be an object`, {
      fix: 'Start the file with "{".',
    });
  }
  return value as Record<string, unknown>;
}

/** The workspace's OpenCode config (and the text it was parsed from), or undefined when it has none. */
export async function readWorkspaceOpencodeConfig(
  workspace: string,
): Promise<{ file: string; config: Record<string, unknown>; text: string } | undefined> {
  for (const name of OPENCODE_CONFIG_FILES) {
    const file = join(workspace, name);
    const text = await readFile(file, "utf8").catch((e: NodeJS.ErrnoException) => {
      // Only a missing file is "none": one ocbox cannot read is still there for OpenCode inside.
      if (e.code === "ENOENT") return undefined;
      throw new OcboxError("CONFIG", `cannot read ${file}: ${e.code ?? e.message}`, {
        fix: "Make it readable (or remove it); ocbox checks it before the sandbox may use it.",
      });
    });
    if (text !== undefined) return { file, config: parseOpencodeConfig(text, file), text };
  }
  return undefined;
}
