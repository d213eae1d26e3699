/** The `.gitignore` edit `ocbox init` makes: add missing entries under one comment. Pure. */

export const GITIGNORE_COMMENT = "# ocbox";

/** The text with every entry present; unchanged (same string) when nothing was missing. */
export function addGitignoreEntries(text: string, entries: readonly string[]): string {
  const present = new Set(
    text
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter((l) => l !== "" && !l.startsWith("#")),
  );
  const missing = entries.filter(
    (e) => !present.has(e) && !present.has(`/${e}`) && !present.has(e.replace(/^\//, "")),
  );
  if (missing.length === 0) return text;
  const head = text === "" || text.endsWith("\n") ? text : `${text}\n`;
  const gap = head === "" ? "" : "\n";
  return `${head}${gap}${GITIGNORE_COMMENT}\n${missing.join("\n")}\n`;
}
