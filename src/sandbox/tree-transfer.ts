/**
 * A tree moved from one throwaway container to another through the archive API (issue 15 item 5,
 * Harbor's separate verifier mode): the agent's final WORKDIR, read from its container before
 * that container goes, into a fresh verifier container. No host path is ever mounted: the tree
 * waits on the host as an opaque tar file (0600, in a 0700 dir of ocbox's own), never extracted
 * there. The tar is the agent's and so hostile: it is re-written entry by entry, keeping regular
 * files, dirs, symbolic and hard links (they resolve inside the verifier's container, whose
 * extraction the engine confines to its root), dropping devices, FIFOs and odd names, clearing
 * setuid/setgid bits, and capping sizes. Owners stay (they are the image's uids).
 */
import { createWriteStream, createReadStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, posix } from "node:path";
import { pipeline } from "node:stream/promises";
import { extract, pack, type Header } from "tar-stream";
import type { Engine } from "../runtime/engine.js";
import { admitFile, type CopyBackCaps } from "./copy-back-policy.js";
import { putInto } from "./task-phases.js";

export interface CapturedTree {
  /** The tar file on the host (opaque; removed by `discard`). */
  file: string;
  /** The dir it came from, in the container. */
  path: string;
  /** Entries left out: devices, FIFOs, odd names, over the caps (paths as in the archive). */
  leftOut: string[];
  discard(): Promise<void>;
}

const KEPT = new Set(["file", "directory", "symlink", "link"]);

/** A relative archive name with no `..`, no empty or absolute part. */
const plain = (name: string): boolean => {
  const parts = name.replace(/\/$/, "").split("/");
  return parts.length > 0 && parts.every((p) => p !== "" && p !== "." && p !== "..");
};

/** What a kept entry becomes: setuid/setgid dropped, owner and the rest kept. */
function cleanHeader(h: Header): Header {
  return {
    name: h.name,
    type: h.type,
    mode: (h.mode ?? 0o644) & 0o1777,
    uid: h.uid ?? 0,
    gid: h.gid ?? 0,
    mtime: h.mtime ?? new Date(),
    uname: "",
    gname: "",
    devmajor: 0,
    devminor: 0,
    size: h.type === "file" ? h.size : 0,
    linkname: h.linkname,
  };
}

/** Whether a hard link's target is a name of the archive itself. */
const linkInside = (h: Header) => h.type !== "link" || (typeof h.linkname === "string" && plain(h.linkname));

/**
 * The container's `path` as a checked tar file on the host; undefined when the path is not there.
 */
export async function captureTree(
  engine: Engine,
  id: string,
  path: string,
  caps: CopyBackCaps,
): Promise<CapturedTree | undefined> {
  const source = await engine.getArchive(id, path);
  if (!source) return undefined;
  const dir = await mkdtemp(join(tmpdir(), "ocbox-tree-"));
  const file = join(dir, "tree.tar");
  const leftOut: string[] = [];
  const x = extract();
  const out = pack();
  let used = 0;
  x.on("entry", (header, body, next) => {
    const fits =
      header.type === "file" ? admitFile(caps, used, header.size ?? 0) : { fits: true as const, used };
    if (!KEPT.has(header.type ?? "") || !plain(header.name) || !linkInside(header) || !fits.fits) {
      leftOut.push(header.name);
      body.on("end", () => next());
      body.resume();
      return;
    }
    used = fits.used;
    body.pipe(out.entry(cleanHeader(header), (e) => next(e ?? undefined)));
  });
  x.on("finish", () => out.finalize());
  x.on("error", (e) => out.destroy(e));
  const write = pipeline(out, createWriteStream(file, { mode: 0o600 }));
  await Promise.all([pipeline(source, x), write]);
  return { file, path, leftOut, discard: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * Put a captured tree back at its path in another container (its parent must exist there);
 * `inside`: from inside, for a gVisor container (task-phases.ts putInto).
 */
export async function restoreTree(
  engine: Engine,
  id: string,
  tree: CapturedTree,
  inside: boolean,
): Promise<void> {
  await putInto(engine, id, posix.dirname(tree.path), createReadStream(tree.file), inside);
}
