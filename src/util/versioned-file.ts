/**
 * The JSON files ocbox writes and reads back (the eval journal and manifest, the project's
 * approval record; labels are checked the same way): each carries a `version`, checked here with
 * zod. A file without one was written by an ocbox before versions and reads as version 1; a newer
 * version than this ocbox knows is refused with the fix. Pure.
 */
import { readFile } from "node:fs/promises";
import type { z } from "zod";
import { OcboxError, errorMessage } from "../errors.js";

/** `version` as stored: absent (an older ocbox) means 1. */
export function fileVersion(value: unknown): unknown {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  const v = (value as { version?: unknown }).version;
  return v === undefined ? 1 : v;
}

/** zod's first issues as `path: message`, for an error's detail. */
export function zodIssues(error: z.ZodError, max = 5): string {
  return error.issues
    .slice(0, max)
    .map((i) => `${i.path.length ? i.path.map(String).join(".") : "(top level)"}: ${i.message}`)
    .join("\n");
}

export interface VersionedFile {
  /** The file, for messages: `/out/manifest.json`, `/out/journal.jsonl line 4`. */
  where: string;
  /** What the file is, in words: "run manifest", "run journal". */
  what: string;
  /** The newest version this ocbox writes and reads. */
  current: number;
  /** What to do about a damaged file. */
  fix: string;
}

/** Check one parsed value against its schema; a clear CONFIG error naming the file otherwise. */
export function parseVersioned<T>(schema: z.ZodType<T>, value: unknown, file: VersionedFile): T {
  const version = fileVersion(value);
  if (typeof version === "number" && Number.isInteger(version) && version > file.current) {
    throw new OcboxError(
      "CONFIG",
      `${file.where}: the ${file.what} has version ${version}, newer than this ocbox reads (${file.current})`,
      { fix: "Use the ocbox that wrote it (or a newer one); this one does not guess at a newer format." },
    );
  }
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new OcboxError("CONFIG", `${file.where}: the ${file.what} is not valid`, {
    detail: zodIssues(parsed.error),
    fix: file.fix,
  });
}

/**
 * A JSON file ocbox wrote: undefined when it does not exist; a file that cannot be read or is
 * not JSON is a CONFIG error naming it, with `fix`.
 */
export async function readJsonFile(file: string, what: string, fix: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return undefined;
    throw new OcboxError("CONFIG", `cannot read the ${what} ${file}: ${code ?? errorMessage(e)}`, {
      cause: e,
      fix,
    });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new OcboxError("CONFIG", `${file}: the ${what} is not JSON`, { detail: errorMessage(e), fix });
  }
}
