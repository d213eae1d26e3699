/**
 * Copy an agent-written tree to the host (the warm pool's sync back, an eval unit's workspace),
 * as an extractor that distrusts its archive would (ARCHITECTURE.md decision 8):
 *
 * - walked through descriptors: every dir is opened `O_RDONLY|O_DIRECTORY|O_NOFOLLOW` and listed
 *   through `/proc/self/fd/N`; every child is opened as `/proc/self/fd/N/<name>` with `O_NOFOLLOW`
 *   (and `O_NONBLOCK`, so a FIFO cannot hang the copy), and what is read is the descriptor that was
 *   `fstat`ed. A name swapped for a link after the listing cannot redirect the copy.
 * - the host side the same way: children of the open target dir, new files `O_CREAT|O_EXCL|
 *   O_NOFOLLOW`, so a link already in the target is replaced, never followed;
 * - symlinks are copied as links, never followed; FIFOs, sockets and devices are left out;
 * - modes masked (copy-back-policy.ts): no setuid/setgid/sticky, nothing group- or world-writable;
 * - apparent sizes capped per file and per copy; sparse files stay sparse (zero runs become holes);
 * - file mtimes preserved. With `mirror`, target entries the source no longer has are deleted.
 *
 * An entry left out keeps whatever the target had under that name. The report lists each one.
 */
import { constants, type Dirent, type Stats } from "node:fs";
import { lstat, mkdir, open, readdir, readlink, rm, symlink, type FileHandle } from "node:fs/promises";
import { OcboxError } from "../errors.js";
import {
  admitFile,
  entryKind,
  hostMode,
  type CopyBackCaps,
  type LeftOut,
  type LeftOutReason,
} from "./copy-back-policy.js";
import { copySparse } from "./sparse-copy.js";

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_DIRECTORY, O_NOFOLLOW, O_NONBLOCK } = constants;
const DIR_FLAGS = O_RDONLY | O_DIRECTORY | O_NOFOLLOW;
const FILE_FLAGS = O_RDONLY | O_NOFOLLOW | O_NONBLOCK;
const NEW_FILE = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW;
/** Files and links of one dir copied at once (dirs go one by one, so open descriptors stay few). */
const PARALLEL = 8;

export interface CopyBackOptions {
  caps: CopyBackCaps;
  /** Delete target entries the source does not have (default true). */
  mirror?: boolean;
  /** The target's top dir gets this mode; default: left as it is. */
  rootMode?: number;
}

export interface CopyBackReport {
  copied: number;
  removed: number;
  unchanged: number;
  /** Apparent bytes of the files written (holes included). */
  bytes: number;
  leftOut: LeftOut[];
}

/**
 * The child `name` of an open dir, by its descriptor; without a name, the dir itself. Names are
 * bytes: a name that is not UTF-8 is copied as it is, not mangled (and then missed).
 */
const at = (dir: FileHandle, name?: Buffer): Buffer =>
  Buffer.concat([Buffer.from(`/proc/self/fd/${dir.fd}${name === undefined ? "" : "/"}`), name ?? EMPTY]);
const EMPTY = Buffer.alloc(0);
/** A name as the report shows it. */
const shown = (name: Buffer): string => name.toString("utf8");

const codeOf = (e: unknown): string | undefined => (e as NodeJS.ErrnoException | undefined)?.code;

async function lstatOrNone(path: Buffer): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch (e) {
    if (codeOf(e) === "ENOENT") return undefined;
    throw e;
  }
}

/** Open a source child; undefined when it is gone (the agent removed it). */
async function openSource(dir: FileHandle, name: Buffer, flags: number): Promise<FileHandle | undefined> {
  try {
    return await open(at(dir, name), flags);
  } catch (e) {
    if (codeOf(e) === "ENOENT") return undefined;
    throw e;
  }
}

function changed(path: string): OcboxError {
  return new OcboxError("UNEXPECTED", `${path} changed type while it was copied back`, {
    fix: "Something still wrote to the tree during the copy; run the task again.",
  });
}

function direntReason(e: Dirent<Buffer>): LeftOutReason {
  if (e.isFIFO()) return "fifo";
  if (e.isSocket()) return "socket";
  return "device";
}

/** Run `fn` on every item, `limit` at a time; waits for all, then throws the first error. */
async function eachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>) {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++] as T);
  };
  const settled = await Promise.allSettled(Array.from({ length: Math.min(limit, items.length) }, worker));
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
  if (failed) throw failed.reason;
}

class Walker {
  private used = 0;
  /** Files are admitted under the caps one by one, in name order, however many are copied at once. */
  private admission: Promise<void> = Promise.resolve();

  constructor(
    private readonly options: CopyBackOptions,
    readonly report: CopyBackReport,
  ) {}

  async dir(src: FileHandle, dst: FileHandle, rel: string): Promise<void> {
    const entries = (await readdir(at(src), { withFileTypes: true, encoding: "buffer" })).sort((a, b) =>
      Buffer.compare(a.name, b.name),
    );
    if (this.options.mirror !== false)
      await this.prune(dst, new Set(entries.map((e) => e.name.toString("latin1"))));
    const join = (name: Buffer) => (rel ? `${rel}/${shown(name)}` : shown(name));
    await eachLimited(
      entries.filter((e) => !e.isDirectory()),
      PARALLEL,
      async (e) => {
        if (e.isSymbolicLink()) await this.link(src, dst, e.name);
        else if (e.isFile()) await this.file(src, dst, e.name, join(e.name));
        else this.report.leftOut.push({ path: join(e.name), reason: direntReason(e) });
      },
    );
    for (const e of entries) if (e.isDirectory()) await this.subdir(src, dst, e.name, join(e.name));
  }

  private async prune(dst: FileHandle, wanted: Set<string>): Promise<void> {
    for (const name of await readdir(at(dst), { encoding: "buffer" })) {
      if (wanted.has(name.toString("latin1"))) continue;
      await rm(at(dst, name), { recursive: true, force: true });
      this.report.removed++;
    }
  }

  private async link(src: FileHandle, dst: FileHandle, name: Buffer): Promise<void> {
    let target: Buffer;
    try {
      target = await readlink(at(src, name), { encoding: "buffer" });
    } catch (e) {
      if (codeOf(e) === "ENOENT") return;
      throw e;
    }
    const old = await lstatOrNone(at(dst, name));
    if (old?.isSymbolicLink() && (await readlink(at(dst, name), { encoding: "buffer" })).equals(target)) {
      this.report.unchanged++;
      return;
    }
    if (old) await rm(at(dst, name), { recursive: true, force: true });
    await symlink(target, at(dst, name));
    this.report.copied++;
  }

  private async file(src: FileHandle, dst: FileHandle, name: Buffer, path: string): Promise<void> {
    const turn = this.admission;
    let admitted = (): void => undefined;
    this.admission = new Promise<void>((resolve) => (admitted = resolve));
    try {
      await this.copyFile(src, dst, name, path, turn, admitted);
    } finally {
      // A file that needed no admission still passes the turn on only after the one before it.
      void turn.then(admitted);
    }
  }

  private async copyFile(
    src: FileHandle,
    dst: FileHandle,
    name: Buffer,
    path: string,
    turn: Promise<void>,
    admitted: () => void,
  ): Promise<void> {
    // The name's lstat decides cheaply (an unchanged file is never opened, a FIFO never); what is
    // copied is the descriptor opened after it, checked to be the same file.
    const seen = await lstatOrNone(at(src, name));
    if (!seen) return;
    const kind = entryKind(seen.mode);
    if (kind === "fifo" || kind === "socket" || kind === "device") {
      this.report.leftOut.push({ path, reason: kind });
      return;
    }
    if (kind !== "file") throw changed(path);
    const mode = hostMode(seen.mode, "file");
    const old = await lstatOrNone(at(dst, name));
    if (
      old?.isFile() &&
      old.size === seen.size &&
      Math.abs(old.mtimeMs - seen.mtimeMs) < 2 &&
      (old.mode & 0o7777) === mode
    ) {
      this.report.unchanged++;
      return;
    }
    const from = await openSource(src, name, FILE_FLAGS);
    if (!from) return;
    try {
      const st = await from.stat();
      if (!st.isFile() || st.ino !== seen.ino || st.dev !== seen.dev) throw changed(path);
      await turn;
      const fits = admitFile(this.options.caps, this.used, st.size);
      admitted();
      if (!fits.fits) {
        this.report.leftOut.push({ path, reason: fits.reason, size: st.size });
        return;
      }
      this.used = fits.used;
      if (old) await rm(at(dst, name), { recursive: true, force: true });
      const to = await open(at(dst, name), NEW_FILE, 0o600);
      try {
        await copySparse(from, to, st.size);
        await to.chmod(hostMode(st.mode, "file"));
        await to.utimes(st.atime, st.mtime);
      } finally {
        await to.close();
      }
      this.report.copied++;
      this.report.bytes += st.size;
    } finally {
      await from.close();
    }
  }

  private async subdir(src: FileHandle, dst: FileHandle, name: Buffer, path: string): Promise<void> {
    const from = await openSource(src, name, DIR_FLAGS);
    if (!from) return;
    try {
      const st = await from.stat();
      if (!st.isDirectory()) throw changed(path);
      const old = await lstatOrNone(at(dst, name));
      if (old && !old.isDirectory()) await rm(at(dst, name), { recursive: true, force: true });
      if (!old?.isDirectory()) await mkdir(at(dst, name), { mode: 0o700 });
      const to = await open(at(dst, name), DIR_FLAGS);
      try {
        // Writable while it fills, whatever mode an earlier copy left; masked when done.
        await to.chmod(0o700);
        await this.dir(from, to, path);
        await to.chmod(hostMode(st.mode, "dir"));
      } finally {
        await to.close();
      }
    } finally {
      await from.close();
    }
  }
}

/** Copy `source` (agent-written) onto `target` (the host's); see the file comment. */
export async function copyBack(
  source: string,
  target: string,
  options: CopyBackOptions,
): Promise<CopyBackReport> {
  const report: CopyBackReport = { copied: 0, removed: 0, unchanged: 0, bytes: 0, leftOut: [] };
  const src = await open(source, DIR_FLAGS);
  try {
    await mkdir(target, { recursive: true, mode: 0o700 });
    const dst = await open(target, DIR_FLAGS);
    try {
      await new Walker(options, report).dir(src, dst, "");
      if (options.rootMode !== undefined) await dst.chmod(options.rootMode);
    } finally {
      await dst.close();
    }
  } finally {
    await src.close();
  }
  report.leftOut.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return report;
}
