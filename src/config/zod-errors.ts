import type { z } from "zod";

/** One line per issue: `path.to.key: message`. */
export function formatZodIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const path = issue.path.length === 0 ? "(top level)" : issue.path.map(String).join(".");
      return `${path}: ${issue.message}`;
    })
    .join("\n");
}
