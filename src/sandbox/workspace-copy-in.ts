/**
 * Copy mode, the way in (issue 14 item 2): the host workspace packed as a tar (links as links,
 * never followed; FIFOs, sockets and devices left out; no setuid, setgid or sticky bit; every entry
 * the agent's) and extracted by the engine into the container's workspace volume. What went in is
 * remembered as the base (sync-decision.ts): the sync back tells an agent edit from a host edit by it.
 */
import { createHash } from "node:crypto";
import { readlinkSync } from "node:fs";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { pack, type Headers } from "tar-fs";
import type { Engine } from "../runtime/engine.js";
import type { Excluded } from "./copy-excludes.js";
import type { Ids } from "./ownership.js";
import type { TreeEntry } from "./sync-decision.js";

export interface CopyInReport {
  base: Map<string, TreeEntry>;
  files: number;
  bytes: number;
  ms: number;
}

/** The base's key of a tar name: `./x/` → `x`, the root `.` → ``; a dot-name (`.env`) stays whole. */
export const rel = (name: string): string =>
  name === "." || name === "./" ? "" : name.replace(/^\.\//, "").replace(/\/$/, "");

/** A link's target, or "" when it is no longer a link (changed since the pack's lstat): a throw here would end the process. */
function linkTarget(path: string): string {
  try {
    return readlinkSync(path);
  } catch {
    return "";
  }
}

/** Pack `workspace` into `dir` of container `id` (created or running); returns the base. */
export async function copyWorkspaceIn(
  engine: Pick<Engine, "putArchive">,
  id: string,
  dir: string,
  workspace: string,
  owner: Ids,
  excluded: Excluded,
): Promise<CopyInReport> {
  const started = performance.now();
  const base = new Map<string, TreeEntry>();
  let files = 0;
  let bytes = 0;
  const stream = pack(workspace, {
    dereference: false,
    ignore: (path) => excluded(path.slice(workspace.length + 1)),
    map: (header: Headers) => {
      const path = rel(header.name);
      if (header.type === "directory" && path) base.set(path, { kind: "dir" });
      // tar-fs reads a link's target only after `map` (into the header map returns): read it here
      // (readlink never follows), or the base would hold every link with an empty target.
      if (header.type === "symlink")
        base.set(path, { kind: "link", target: linkTarget(join(workspace, path)) });
      return { ...header, uid: owner.uid, gid: owner.gid, mode: (header.mode ?? 0o644) & 0o777 };
    },
    mapStream: (body, header: Headers) => {
      const hash = createHash("sha256");
      const through = new PassThrough();
      through.on("data", (chunk: Buffer) => hash.update(chunk));
      through.on("end", () => {
        files++;
        bytes += header.size ?? 0;
        base.set(rel(header.name), {
          kind: "file",
          size: header.size ?? 0,
          hash: hash.digest("hex"),
          mode: header.mode ?? 0o644,
        });
      });
      return body.pipe(through) as unknown as typeof body;
    },
  });
  await engine.putArchive(id, dir, stream as unknown as NodeJS.ReadableStream);
  return { base, files, bytes, ms: performance.now() - started };
}
