/**
 * A tree out of a container, onto the host, through the hardened copy-back (copy-back.ts): the
 * engine's tar stream of the path is unpacked into a fresh private dir (0700) taking only
 * regular files and dirs with plain relative names (links, devices, FIFOs, `..` and absolute
 * names are dropped, and reported), each file capped by the copy-back caps as it streams, and
 * that dir is then copied onto the target by copyBack, which masks modes, caps sizes and never
 * follows a link. The private dir is removed afterwards. Nothing of the archive is executed or
 * followed on the host.
 */
import { constants } from "node:fs";
import { mkdir, mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, posix } from "node:path";
import { extract, type Header } from "tar-stream";
import type { Engine } from "../runtime/engine.js";
import { copyBack, type CopyBackReport } from "./copy-back.js";
import type { CopyBackCaps } from "./copy-back-policy.js";

const NEW_FILE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/** The archive name relative to the tree's root, or undefined for one that is not plain. Pure. */
export function plainName(name: string): string | undefined {
  const parts = name.split("/").filter((p) => p !== "" && p !== ".");
  // The engine names entries "<basename of the path>/…": drop that first part.
  const rel = parts.slice(1);
  if (parts.length === 0 || rel.some((p) => p === ".." || p.includes("\0"))) return undefined;
  return rel.join("/");
}

interface Unpacked {
  dropped: string[];
  over: string[];
}

async function writeEntry(
  root: string,
  rel: string,
  header: Header,
  body: NodeJS.ReadableStream,
  caps: CopyBackCaps,
  out: Unpacked,
  total: { bytes: number },
) {
  const abs = join(root, ...rel.split("/"));
  if (header.type === "directory") {
    await mkdir(abs, { recursive: true, mode: 0o700 });
    return;
  }
  await mkdir(posix.dirname(abs), { recursive: true, mode: 0o700 });
  const size = header.size ?? 0;
  if (size > caps.maxFileBytes || total.bytes + size > caps.maxTotalBytes) {
    out.over.push(rel);
    return;
  }
  total.bytes += size;
  const fh = await open(abs, NEW_FILE, 0o600);
  try {
    for await (const chunk of body) await fh.write(chunk as Buffer);
  } finally {
    await fh.close();
  }
}

async function unpack(stream: NodeJS.ReadableStream, root: string, caps: CopyBackCaps): Promise<Unpacked> {
  const out: Unpacked = { dropped: [], over: [] };
  const total = { bytes: 0 };
  const x = extract();
  const source = stream as NodeJS.ReadableStream & { destroy?: () => void };
  source.on("error", (e: Error) => x.destroy(e));
  source.pipe(x);
  try {
    for await (const entry of x) {
      const rel = plainName(entry.header.name);
      const kind = entry.header.type;
      if (rel === undefined || (kind !== "file" && kind !== "directory")) {
        out.dropped.push(entry.header.name);
      } else if (rel !== "" || kind === "directory") {
        await writeEntry(
          root,
          rel,
          entry.header,
          entry as unknown as NodeJS.ReadableStream,
          caps,
          out,
          total,
        );
      }
      entry.resume();
    }
  } finally {
    source.destroy?.();
  }
  return out;
}

export interface TreeCopy extends CopyBackReport {
  /** Archive entries that were not plain files or dirs (links, devices, odd names). */
  dropped: string[];
}

/** Copy `path` of container `id` onto the host dir `target`; undefined when the path is not there. */
export async function copyTreeOut(
  engine: Engine,
  id: string,
  path: string,
  target: string,
  caps: CopyBackCaps,
): Promise<TreeCopy | undefined> {
  const stream = await engine.getArchive(id, path);
  if (!stream) return undefined;
  const scratch = await mkdtemp(join(tmpdir(), "ocbox-tree-"));
  try {
    const root = join(scratch, "t");
    await mkdir(root, { mode: 0o700 });
    const got = await unpack(stream, root, caps);
    const report = await copyBack(root, target, { caps, mirror: false });
    const overCap = got.over.map((p) => ({ path: p, reason: "over-file-cap" as const }));
    return { ...report, leftOut: [...report.leftOut, ...overCap], dropped: got.dropped };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
