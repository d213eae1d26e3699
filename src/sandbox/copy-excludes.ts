/** Copy mode's `.gitignore`-style excludes (ocbox.yaml `workspace.exclude`), as one predicate. */
import ignoreModule from "ignore";

// A CommonJS package whose types describe an ES default export; at run time both are the factory.
const ignore = ignoreModule.default;

/** True for a relative path (with `/`) that copy mode leaves out, both ways. */
export type Excluded = (rel: string) => boolean;

export function excludedBy(patterns: readonly string[]): Excluded {
  if (patterns.length === 0) return () => false;
  const ig = ignore().add([...patterns]);
  // A dir-only pattern ("node_modules/") is asked with the slash too: the walk does not say which is a dir.
  return (rel) => rel !== "" && (ig.ignores(rel) || ig.ignores(`${rel}/`));
}
