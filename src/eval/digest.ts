/**
 * Content digests for task folders and agent outputs: sha256 over the sorted relative paths,
 * entry kinds and contents of a tree. Two trees with the same files have the same digest,
 * wherever they sit and whatever their timestamps.
 */
import { createHash } from "node:crypto";
import { readFile, readdir, readlink } from "node:fs/promises";
import { join } from "node:path";

export function sha256(...parts: string[]): string {
  const h = createHash("sha256");
  for (const p of parts) h.update(p).update("\0");
  return h.digest("hex");
}

export async function treeDigest(root: string): Promise<string> {
  const h = createHash("sha256");
  const visit = async (rel: string): Promise<void> => {
    const entries = await readdir(join(root, rel), { withFileTypes: true }).catch(() => []);
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const path = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        h.update(`d ${path}\0`);
        await visit(path);
      } else if (e.isSymbolicLink()) {
        h.update(`l ${path}\0${await readlink(join(root, path))}\0`);
      } else if (e.isFile()) {
        const content = await readFile(join(root, path));
        h.update(`f ${path}\0${content.length}\0`).update(content);
      }
    }
  };
  await visit("");
  return h.digest("hex");
}
