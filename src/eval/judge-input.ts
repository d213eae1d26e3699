/**
 * The judge's evidence read from a finished unit's folder: its session.json (the exported
 * session, bounded when written but read here with a size check of its own, since the output
 * dir is only a folder on disk) and the listing of its final workspace. Rendered by
 * judge-evidence.ts.
 */
import { lstat, readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { sha256 } from "./digest.js";
import { EVIDENCE_LIMITS, listingEvidence, sessionEvidence, type ListedEntry } from "./judge-evidence.js";
import { SESSION_RECORD_LIMITS } from "./session-record.js";
import { SESSION_FILE } from "./unit-record.js";

export interface JudgeEvidence {
  listing: string;
  session: string;
  /** Of the rendered session: part of the verdict's cache key. */
  digest: string;
}

/** Largest session.json read: the export's own cap, and room for its JSON framing. */
const MAX_SESSION_FILE = SESSION_RECORD_LIMITS.maxBytes + 1024 * 1024;

const missing = (e: unknown): boolean => {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return code === "ENOENT" || code === "ENOTDIR";
};

async function readSession(dir: string): Promise<string> {
  const file = join(dir, SESSION_FILE);
  const size = await lstat(file).then(
    (s) => (s.isFile() ? s.size : -1),
    (e: unknown) => {
      if (missing(e)) return undefined;
      throw e;
    },
  );
  if (size === undefined) return sessionEvidence(null).text;
  if (size < 0 || size > MAX_SESSION_FILE)
    return `(${SESSION_FILE} left out: ${size < 0 ? "not a regular file" : `${size} bytes, over the ${MAX_SESSION_FILE}-byte cap`})`;
  const text = await readFile(file, "utf8");
  try {
    return sessionEvidence(JSON.parse(text)).text;
  } catch (e) {
    if (e instanceof SyntaxError) return `(${SESSION_FILE} left out: not valid JSON)`;
    throw e;
  }
}

/** The workspace's entries in sorted order, links not followed, at most `max` + 1 kept. */
async function listTree(root: string, max: number): Promise<{ entries: ListedEntry[]; more: number }> {
  const entries: ListedEntry[] = [];
  let more = 0;
  const visit = async (rel: string): Promise<void> => {
    const names = await readdir(join(root, rel)).catch((e: unknown) => {
      if (missing(e)) return [];
      throw e;
    });
    for (const name of names.sort()) {
      const path = rel ? `${rel}/${name}` : name;
      const st = await lstat(join(root, path));
      const kind = st.isDirectory() ? "dir" : st.isSymbolicLink() ? "link" : st.isFile() ? "file" : "other";
      if (entries.length < max) entries.push({ path, kind, size: st.size });
      else more++;
      if (kind === "dir") await visit(path);
    }
  };
  await visit("");
  return { entries, more };
}

export async function readJudgeEvidence(unitDir: string): Promise<JudgeEvidence> {
  const limits = EVIDENCE_LIMITS;
  const [session, tree] = await Promise.all([
    readSession(unitDir),
    listTree(join(unitDir, "workspace"), limits.listingEntries),
  ]);
  const listing = listingEvidence(tree.entries, limits, tree.entries.length + tree.more).text;
  return { listing, session, digest: sha256(session) };
}
