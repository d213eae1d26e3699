/**
 * A benchmark task's build context (`environment/`), read as hostile input: walked with lstat,
 * links kept as links (never followed on the host; the engine resolves them inside the context),
 * anything but files, folders and links left out, sizes capped. Its digest (paths, kinds, modes,
 * contents, link targets) names the image, so an unchanged context is never built twice.
 */
import { createHash } from "node:crypto";
import { lstat, readFile, readdir, readlink } from "node:fs/promises";
import { join } from "node:path";
import { pack } from "tar-fs";
import { OcboxError } from "../errors.js";

/** A build context larger than this is refused (Terminal-Bench contexts are a few MB at most). */
export const MAX_CONTEXT_BYTES = 512 * 1024 * 1024;

export interface ContextEntry {
  /** Relative path, `/`-separated. */
  path: string;
  kind: "file" | "dir" | "link";
  mode: number;
  size: number;
}

export interface TaskContext {
  dir: string;
  entries: ContextEntry[];
  /** sha256 over the entries and their contents. */
  digest: string;
  /** The Dockerfile's text. */
  dockerfile: string;
}

/** Walk `dir` without following links; hash it. Throws IMAGE_BUILD when it is too large. */
export async function readTaskContext(dir: string): Promise<TaskContext> {
  const h = createHash("sha256");
  const entries: ContextEntry[] = [];
  let total = 0;
  const visit = async (rel: string): Promise<void> => {
    const names = (await readdir(join(dir, rel))).sort();
    for (const name of names) {
      const path = rel ? `${rel}/${name}` : name;
      const st = await lstat(join(dir, path));
      const mode = st.mode & 0o7777;
      if (st.isSymbolicLink()) {
        const target = await readlink(join(dir, path));
        entries.push({ path, kind: "link", mode, size: 0 });
        h.update(`l ${path}\0${target}\0`);
      } else if (st.isDirectory()) {
        entries.push({ path, kind: "dir", mode, size: 0 });
        h.update(`d ${path}\0${mode}\0`);
        await visit(path);
      } else if (st.isFile()) {
        total += st.size;
        if (total > MAX_CONTEXT_BYTES)
          throw new OcboxError("IMAGE_BUILD", `the build context ${dir} is larger than 512 MiB`, {
            fix: "Keep large data out of environment/ (fetch it in the Dockerfile, or use docker_image).",
          });
        entries.push({ path, kind: "file", mode, size: st.size });
        const content = await readFile(join(dir, path));
        h.update(`f ${path}\0${mode}\0${content.length}\0`).update(content);
      }
    }
  };
  await visit("");
  const dockerfile = await readFile(join(dir, "Dockerfile"), "utf8");
  return { dir, entries, digest: h.digest("hex"), dockerfile };
}

/** The context as a tar stream of exactly the entries read (no devices, no fifos, links as links). */
export function packTaskContext(context: TaskContext): NodeJS.ReadableStream {
  const keep = new Set(context.entries.map((e) => join(context.dir, e.path)));
  return pack(context.dir, {
    dereference: false,
    ignore: (name: string) => name !== context.dir && !keep.has(name),
  }) as unknown as NodeJS.ReadableStream;
}
