/**
 * Walking a tree that an agent can write, by file descriptor (the host boundary, SECURITY.md).
 *
 * Node has no openat/fchownat/unlinkat, so every entry is reached through the descriptor of the
 * directory that holds it: `/proc/self/fd/D/NAME` resolves the magic link `D` to the directory
 * we opened (pinned, whatever its name points at now) and looks up only NAME in it. Each entry is
 * opened with O_PATH|O_NOFOLLOW, which never follows a link, opens nothing (no device or FIFO
 * side effects, no permission needed on the entry) and pins its inode; `fstat` and a change
 * through `/proc/self/fd/N` then act on exactly that inode. A directory swapped for a symlink
 * between the listing and the open is opened as the symlink itself and is never descended.
 */
import { closeSync, constants, existsSync, fstatSync, openSync, readdirSync, type Stats } from "node:fs";
import { OcboxError } from "../errors.js";

/** Linux's O_PATH (the same value on x86-64 and arm64); Node's fs.constants does not carry it. */
export const O_PATH = 0o10000000;

/** Deeper trees are refused: each level holds one descriptor while its entries are visited. */
export const MAX_DEPTH = 400;

/** The path that reaches the inode behind `fd`, or the entry `name` inside the directory behind it. */
export function procFd(fd: number, name?: string): string {
  return name === undefined ? `/proc/self/fd/${fd}` : `/proc/self/fd/${fd}/${name}`;
}

function requireProcFd(): void {
  if (!existsSync("/proc/self/fd")) {
    throw new OcboxError("UNEXPECTED", "/proc/self/fd is not available, so a tree cannot be walked safely", {
      fix: "Run ocbox on Linux with /proc mounted.",
    });
  }
}

/** A handle on `path` itself (never a link's target); undefined when nothing is there. */
export function openPath(path: string): number | undefined {
  requireProcFd();
  try {
    return openSync(path, O_PATH | constants.O_NOFOLLOW);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
}

/** A handle on the directory `path`; a link there is refused (ENOTDIR), never followed. */
export function openDirPath(path: string): number {
  requireProcFd();
  return openSync(path, O_PATH | constants.O_NOFOLLOW | constants.O_DIRECTORY);
}

/** A handle on the entry `name` of the directory behind `dirFd`; undefined when it is gone. */
export function openEntry(dirFd: number, name: string): number | undefined {
  try {
    return openSync(procFd(dirFd, name), O_PATH | constants.O_NOFOLLOW);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
}

/** The names in the directory behind `dirFd` (opened again through its descriptor, not its name). */
export function listDir(dirFd: number): string[] {
  return readdirSync(procFd(dirFd));
}

export function statFd(fd: number): Stats {
  return fstatSync(fd);
}

export function closeFd(fd: number): void {
  closeSync(fd);
}

/** Let the event loop run now and then during a long synchronous walk. */
export function yieldNow(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
