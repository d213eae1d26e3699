/** Configured rate-limit patterns (FEATURES E12): text or `/regex/flags`. Pure. */

/**
 * Compiles a configured pattern. `/source/flags` is a regular expression, anything else a
 * case-insensitive substring. Throws on an invalid regular expression unless `lenient`, in which case
 * the text is taken literally; call it without `lenient` when validating configuration.
 */
export function compilePattern(pattern: string | RegExp, options: { lenient?: boolean } = {}): RegExp {
  if (pattern instanceof RegExp) return new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, ""));
  const literal = /^\/(.+)\/([dimsuv]*)$/s.exec(pattern);
  if (literal?.[1] !== undefined) {
    try {
      return new RegExp(literal[1], (literal[2] ?? "").replace(/[gy]/g, ""));
    } catch (error) {
      if (!options.lenient)
        throw new Error(`invalid rate-limit pattern ${pattern}: ${(error as Error).message}`);
    }
  }
  return new RegExp(pattern.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"), "i");
}
