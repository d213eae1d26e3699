/**
 * "Did you mean …?" for unknown keys and names. Pure.
 *
 * Distance is Damerau–Levenshtein (optimal string alignment: insert, delete, substitute, swap two
 * neighbours), computed on a normalised form so that `host-ports`, `host_ports` and `HostPorts`
 * all meet `hostPorts` at distance 0.
 */

/** Lower case, with `-`, `_` and spaces removed: the spelling differences that never matter. */
export function normaliseKey(word: string): string {
  return word.toLowerCase().replace(/[-_\s]/g, "");
}

/** Optimal string alignment distance between `a` and `b`. */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  if (a.length === 0) return b.length;
  if (b.length === 0) return a.length;
  // Three rolling rows: two back (for swaps), one back, current.
  let before: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, (before[j - 2] ?? 0) + 1);
      }
      current.push(best);
    }
    before = previous;
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/**
 * The candidate closest to `word`, or undefined when none is close enough. Close enough means a
 * distance of at most a third of the longer word (at least 1), or one word being a prefix of the
 * other (`apiKey` → `apiKeyEnv`) when the shorter has three or more characters.
 */
export function didYouMean(word: string, candidates: Iterable<string>): string | undefined {
  const w = normaliseKey(word);
  let best: { candidate: string; score: number } | undefined;
  for (const candidate of candidates) {
    const c = normaliseKey(candidate);
    const distance = editDistance(w, c);
    const limit = Math.max(1, Math.floor(Math.max(w.length, c.length) / 3));
    const prefix = Math.min(w.length, c.length) >= 3 && (c.startsWith(w) || w.startsWith(c));
    if (distance > limit && !prefix) continue;
    // A prefix match ranks behind any real near-miss of the same length difference.
    const score = distance > limit ? distance + 0.5 : distance;
    if (best === undefined || score < best.score) best = { candidate, score };
  }
  return best?.candidate;
}
