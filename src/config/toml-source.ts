/**
 * Where a key sits in a TOML file, for error messages: from a key path (as zod reports it) to a
 * line. TOML parsers return plain values without positions, so this scans the text for the table
 * headers (`[environment]`) and the `key =` lines under them, dotted keys included. A path that is
 * not in the file falls back to its deepest table, else line 1. Pure.
 */

const bare = (k: string) =>
  k
    .trim()
    .replace(/^"(.*)"$/, "$1")
    .replace(/^'(.*)'$/, "$1");
const dotted = (k: string) => k.split(".").map(bare);

export function locateTomlKey(text: string, path: readonly PropertyKey[]): number {
  const want = path.filter((p): p is string => typeof p === "string");
  let table: string[] = [];
  let best = { line: 1, depth: 0 };
  const consider = (keys: string[], line: number) => {
    let depth = 0;
    while (depth < keys.length && depth < want.length && keys[depth] === want[depth]) depth++;
    if (depth === keys.length && depth > best.depth) best = { line, depth };
  };
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    const header = /^\[\[?([^\]]+)\]\]?\s*(#.*)?$/.exec(line);
    if (header?.[1]) {
      table = dotted(header[1]);
      consider(table, i + 1);
      return;
    }
    const assign = /^((?:"[^"]*"|'[^']*'|[A-Za-z0-9_.\s-])+?)\s*=/.exec(line);
    if (assign?.[1]) consider([...table, ...dotted(assign[1])], i + 1);
  });
  return best.line;
}
