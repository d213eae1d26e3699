/**
 * Performance volumes (FEATURES E11): the `volumes:` list of ocbox.yaml names workspace dirs
 * (`node_modules`, `target`, `.venv`) that a named volume shadows inside the sandbox. Each entry
 * is a path relative to the workspace, inside it, and not the workspace itself. Pure.
 */
import type { Problem } from "./checks.js";

const SEGMENT = /^[A-Za-z0-9._@+-]+$/;
const FIX = "give a dir relative to the workspace, e.g. node_modules, target or .venv";

/** `./node_modules/` → `node_modules`; `a//b` → `a/b`. Only for paths without a problem. */
export function normalizeVolumePath(path: string): string {
  return path
    .split("/")
    .filter((s) => s !== "" && s !== ".")
    .join("/");
}

/** What is wrong with one `volumes:` entry, or undefined. */
export function volumePathProblem(path: string): Problem | undefined {
  if (path.trim() === "") return { problem: "is empty", fix: FIX };
  if (path.startsWith("/") || path.startsWith("~")) {
    return { problem: `"${path}" is not relative to the workspace`, fix: FIX };
  }
  if (path.includes("\\")) {
    return {
      problem: `"${path}" contains a backslash`,
      fix: "separate dirs with /, e.g. packages/app/node_modules",
    };
  }
  const segments = path.split("/").filter((s) => s !== "" && s !== ".");
  if (segments.includes("..")) return { problem: `"${path}" leaves the workspace`, fix: FIX };
  if (segments.length === 0) {
    return {
      problem: `"${path}" is the workspace itself`,
      fix: "name a dir inside the workspace; the workspace is always bind-mounted",
    };
  }
  const bad = segments.find((s) => !SEGMENT.test(s));
  if (bad !== undefined) {
    return {
      problem: `"${path}" has a dir name with unusual characters ("${bad}")`,
      fix: "use letters, digits and . _ @ + - in dir names",
    };
  }
  return undefined;
}

/** Duplicates and nested entries of a whole list (each entry already valid), with their index. */
export function volumeListProblems(paths: readonly string[]): Array<{ index: number } & Problem> {
  const problems: Array<{ index: number } & Problem> = [];
  const seen: string[] = [];
  for (const [index, raw] of paths.entries()) {
    const path = normalizeVolumePath(raw);
    for (const prev of seen) {
      if (prev === path) {
        problems.push({ index, problem: `"${raw}" is listed twice`, fix: "remove the duplicate" });
      } else if (path.startsWith(`${prev}/`) || prev.startsWith(`${path}/`)) {
        problems.push({
          index,
          problem: `"${raw}" and "${prev}" are nested`,
          fix: "keep only the outer dir; a volume covers everything below it",
        });
      }
    }
    seen.push(path);
  }
  return problems;
}
