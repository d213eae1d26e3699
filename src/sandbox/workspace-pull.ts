/**
 * Copy mode, the way out (issue 14 item 2): the agent's workspace as the engine packs it
 * (getArchive), read like an untrusted archive into a private staging dir of this process. Only
 * what changed against the base is kept there; the host's workspace is not touched here (the sync,
 * workspace-copy-sync.ts, hands the staging dir to copy-back.ts, which masks modes, copies links
 * as links and never follows one).
 *
 * - names with `..`, absolute names and names under an excluded path are skipped;
 * - links are recorded, never created during the read (nothing staged can go through one);
 * - FIFOs, devices, files over the per-file cap, changed files past the per-copy cap and hard
 *   links to files that did not change are left out: the path is reported and counts as unchanged
 *   (the host keeps what it has, the base stays, the next sync tries again).
 */
import { createHash } from "node:crypto";
import { constants } from "node:fs";
import { copyFile, mkdir, open, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { Readable } from "node:stream";
import { extract, type Header as Headers } from "tar-stream";
import { OcboxError } from "../errors.js";
import type { Engine } from "../runtime/engine.js";
import { admitFile, type CopyBackCaps, type LeftOut } from "./copy-back-policy.js";
import type { Excluded } from "./copy-excludes.js";
import { sameEntry, type Tree, type TreeEntry } from "./sync-decision.js";

const NEW_FILE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

export interface PulledTree {
  /** The agent's tree, with left-out paths as they are in the base. */
  agent: Map<string, TreeEntry>;
  /** Changed files, staged at their path under the staging dir. */
  staged: Set<string>;
  /** Dir modes as the agent has them (for the staged parents). */
  dirModes: Map<string, number>;
  leftOut: LeftOut[];
}

export interface PullOptions {
  base: Tree;
  caps: CopyBackCaps;
  excluded: Excluded;
  /** Files emptied before the read for being over the per-file cap (the fetch helper, workspace-snapshot.ts), with their size. */
  trimmed?: ReadonlyMap<string, number>;
}

/** The path of an entry relative to the archive's top dir; undefined for the top dir or a bad name. */
export function entryPath(name: string): string | undefined {
  const parts = name.replace(/\/+$/, "").split("/").slice(1);
  if (parts.length === 0 || parts.some((p) => p === "" || p === "." || p === "..")) return undefined;
  if (name.startsWith("/")) return undefined;
  return parts.join("/");
}

class Puller {
  readonly out: PulledTree = { agent: new Map(), staged: new Set(), dirModes: new Map(), leftOut: [] };
  private used = 0;

  constructor(
    private readonly staging: string,
    private readonly options: PullOptions,
  ) {}

  private keepBase(path: string, left: LeftOut): void {
    this.out.leftOut.push(left);
    const b = this.options.base.get(path);
    if (b) this.out.agent.set(path, b);
  }

  async entry(header: Headers, body: Readable): Promise<void> {
    const path = entryPath(header.name);
    if (path === undefined || this.options.excluded(path)) {
      drain(body);
      return;
    }
    const mode = header.mode ?? 0o644;
    switch (header.type) {
      case "directory":
        this.out.agent.set(path, { kind: "dir" });
        this.out.dirModes.set(path, mode);
        return drain(body);
      case "symlink":
        this.out.agent.set(path, { kind: "link", target: header.linkname ?? "" });
        return drain(body);
      case "file":
      case "contiguous-file":
        return this.file(path, header.size ?? 0, mode, body);
      case "link":
        drain(body);
        return this.hardLink(path, entryPath(header.linkname ?? ""), mode);
      case "fifo":
        this.keepBase(path, { path, reason: "fifo" });
        return drain(body);
      case "character-device":
      case "block-device":
      default:
        this.keepBase(path, { path, reason: "device" });
        return drain(body);
    }
  }

  private async file(path: string, size: number, mode: number, body: Readable): Promise<void> {
    const trimmed = this.options.trimmed?.get(path);
    if (size > this.options.caps.maxFileBytes || trimmed !== undefined) {
      this.keepBase(path, { path, reason: "over-file-cap", size: trimmed ?? size });
      return drain(body);
    }
    const file = join(this.staging, path);
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    const hash = createHash("sha256");
    const to = await open(file, NEW_FILE, 0o600);
    try {
      for await (const chunk of body) {
        hash.update(chunk as Buffer);
        await to.write(chunk as Buffer);
      }
      // The agent's permission bits; copy-back.ts masks them again on the host side.
      await to.chmod(mode & 0o777);
    } finally {
      await to.close();
    }
    const entry: TreeEntry = { kind: "file", size, hash: hash.digest("hex"), mode };
    if (sameEntry(entry, this.options.base.get(path))) {
      this.out.agent.set(path, entry);
      return rm(file);
    }
    const fits = admitFile(this.options.caps, this.used, size);
    if (!fits.fits) {
      await rm(file);
      return this.keepBase(path, { path, reason: fits.reason, size });
    }
    this.used = fits.used;
    this.out.agent.set(path, entry);
    this.out.staged.add(path);
  }

  /** A hard link: the same content as an earlier entry, known only when that one was staged. */
  private async hardLink(path: string, target: string | undefined, mode: number): Promise<void> {
    const of = target === undefined ? undefined : this.out.agent.get(target);
    if (of?.kind !== "file") return this.keepBase(path, { path, reason: "hardlink" });
    const entry: TreeEntry = { ...of, mode };
    if (sameEntry(entry, this.options.base.get(path))) {
      this.out.agent.set(path, entry);
      return;
    }
    if (!this.out.staged.has(target as string)) return this.keepBase(path, { path, reason: "hardlink" });
    const file = join(this.staging, path);
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    await copyFile(join(this.staging, target as string), file, constants.COPYFILE_EXCL);
    this.out.agent.set(path, entry);
    this.out.staged.add(path);
  }
}

/** Skip an entry's body: the archive's iterator moves on once it is consumed. */
function drain(body: Readable): void {
  body.resume();
}

/** Read the agent's `dir` of container `id` (stopped or running) into `staging` (empty, ours). */
export async function pullAgentTree(
  engine: Pick<Engine, "getArchive">,
  id: string,
  dir: string,
  staging: string,
  options: PullOptions,
): Promise<PulledTree> {
  const tar = await engine.getArchive(id, dir);
  if (!tar) {
    throw new OcboxError("UNEXPECTED", `the sandbox's workspace ${dir} is gone`, {
      fix: "The container or its workspace volume was removed before the sync; nothing came back.",
    });
  }
  const puller = new Puller(staging, options);
  const x = extract();
  const source = tar as NodeJS.ReadableStream & { destroy?: () => void };
  source.on("error", (e: Error) => x.destroy(e));
  source.pipe(x);
  try {
    for await (const item of x) {
      const e = item as unknown as { header: Headers; resume(): void } & Readable;
      await puller.entry(e.header, e);
    }
  } finally {
    source.destroy?.();
  }
  return puller.out;
}
