/**
 * Small files into and out of a container through the engine's archive endpoints (ARCHITECTURE.md
 * decision 9: no host dir is mounted). What comes out is read like an untrusted archive: only a
 * regular file of the expected name is taken, links are never followed (the engine packs them as
 * links, resolved in the container, never on the host), and sizes are capped.
 */
import { extract, pack } from "tar-stream";
import type { Ids } from "./ownership.js";

export interface StagedFile {
  /** A relative name; one ending in "/" is a dir. */
  name: string;
  /** Absent for a dir. */
  content?: string;
  /** Default 0o600 (files), 0o700 (dirs). */
  mode?: number;
  /** Default: the archive's owner. */
  owner?: Ids;
}

/**
 * A tar archive of `files` (and dirs) for the root of the target dir, owned by `owner` unless a
 * file says otherwise. The engine keeps the entries' owners and modes, but not the target dir's
 * own (a volume's root stays the engine's): give the agent a dir inside it instead.
 */
export async function packFiles(files: readonly StagedFile[], owner: Ids): Promise<Buffer> {
  const p = pack();
  const mtime = new Date();
  for (const f of files) {
    const ids = { uid: (f.owner ?? owner).uid, gid: (f.owner ?? owner).gid, mtime };
    if (f.name.endsWith("/")) p.entry({ name: f.name, type: "directory", mode: f.mode ?? 0o700, ...ids });
    else p.entry({ name: f.name, mode: f.mode ?? 0o600, ...ids }, f.content ?? "");
  }
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of p) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export interface ReadOneResult {
  /** The file's first `cap` bytes; undefined when the archive held no regular file of that name. */
  bytes: Buffer | undefined;
  /** The file was longer than `cap` (the rest was not read into memory). */
  truncated: boolean;
}

/**
 * The regular file `name` from a tar stream of one path (an engine's `getArchive`), at most `cap`
 * bytes of it. Anything else in the stream (a link, a dir, a device, other names) is skipped
 * unread. Reading stops at the cap; the stream is destroyed either way.
 */
export async function readOneFile(
  stream: NodeJS.ReadableStream,
  name: string,
  cap: number,
): Promise<ReadOneResult> {
  const x = extract();
  const source = stream as NodeJS.ReadableStream & { destroy?: () => void };
  let bytes: Buffer | undefined;
  let truncated = false;
  const done = new Promise<void>((resolve, reject) => {
    x.on("entry", (header, body, next) => {
      const wanted = header.type === "file" && bytes === undefined && stripDot(header.name) === name;
      const chunks: Buffer[] = [];
      let size = 0;
      body.on("data", (data: unknown) => {
        const chunk = data as Buffer;
        if (!wanted) return;
        const taken = chunk.subarray(0, cap - size);
        chunks.push(taken);
        size += taken.length;
        if (taken.length < chunk.length) {
          // Past the cap: keep what was read, read no further.
          truncated = true;
          bytes = Buffer.concat(chunks);
          resolve();
        }
      });
      body.on("end", () => {
        if (wanted && !truncated) bytes = Buffer.concat(chunks);
        next();
      });
      body.on("error", reject);
    });
    x.on("finish", resolve);
    x.on("error", reject);
  });
  source.on("error", (e: Error) => x.destroy(e));
  source.pipe(x);
  try {
    await done;
  } finally {
    source.destroy?.();
    x.destroy();
  }
  return { bytes, truncated };
}

function stripDot(path: string): string {
  return path.replace(/^\.\//, "").replace(/\/$/, "");
}
