/**
 * Sandbox identity (FEATURES A2): the sandbox name plus a short hash of the absolute project path,
 * so two checkouts of one repository never share an image, container, network or state dir. Pure.
 */
import { createHash } from "node:crypto";
import { SANDBOX_NAME_PATTERN } from "./project-schema.js";

/** `name-1a2b3c4d`: the name and the first 8 hex digits of sha256(absolute project path). */
export function sandboxIdFor(name: string, absProjectPath: string): string {
  const hash = createHash("sha256").update(absProjectPath).digest("hex").slice(0, 8);
  return `${name}-${hash}`;
}

/** A valid sandbox name from a folder name: lower case, runs of other characters as "-", ≤ 40. */
export function sandboxNameFromFolder(folder: string): string {
  const slug = folder
    .toLowerCase()
    .normalize("NFKD")
    .replace(/[^a-z0-9]+/g, "-")
    .slice(0, 40)
    .replace(/^-+|-+$/g, "");
  return SANDBOX_NAME_PATTERN.test(slug) ? slug : "project";
}
