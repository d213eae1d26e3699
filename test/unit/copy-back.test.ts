import { execFileSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  truncateSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { copyBack } from "../../src/sandbox/copy-back.js";
import {
  DEFAULT_COPY_BACK_CAPS,
  admitFile,
  describeLeftOut,
  entryKind,
  formatBytes,
  hostMode,
} from "../../src/sandbox/copy-back-policy.js";

const caps = DEFAULT_COPY_BACK_CAPS;
const tmp = (name: string) => mkdtempSync(join(tmpdir(), `ocbox-copyback-${name}-`));
const mode = (p: string) => lstatSync(p).mode & 0o7777;

describe("copy-back policy (pure)", () => {
  it("masks modes: no setuid/setgid/sticky, no group or world write, the owner keeps rw (and x on dirs)", () => {
    expect(hostMode(0o104755, "file")).toBe(0o755);
    expect(hostMode(0o102755, "file")).toBe(0o755);
    expect(hostMode(0o100666, "file")).toBe(0o644);
    expect(hostMode(0o100000, "file")).toBe(0o600);
    expect(hostMode(0o041777, "dir")).toBe(0o755);
    expect(hostMode(0o040000, "dir")).toBe(0o700);
    expect(hostMode(0o040750, "dir")).toBe(0o750);
  });

  it("names entry kinds from st_mode", () => {
    expect(entryKind(0o100644)).toBe("file");
    expect(entryKind(0o040755)).toBe("dir");
    expect(entryKind(0o120777)).toBe("link");
    expect(entryKind(0o010644)).toBe("fifo");
    expect(entryKind(0o140755)).toBe("socket");
    expect(entryKind(0o020666)).toBe("device");
    expect(entryKind(0o060660)).toBe("device");
  });

  it("caps the apparent size per file and per copy", () => {
    const small = { maxFileBytes: 100, maxTotalBytes: 250 };
    expect(admitFile(small, 0, 100)).toEqual({ fits: true, used: 100 });
    expect(admitFile(small, 0, 101)).toEqual({ fits: false, reason: "over-file-cap" });
    expect(admitFile(small, 200, 60)).toEqual({ fits: false, reason: "over-total-cap" });
    expect(admitFile(small, 200, 50)).toEqual({ fits: true, used: 250 });
    expect(admitFile(caps, 0, 10 * 1024 ** 4)).toEqual({ fits: false, reason: "over-file-cap" });
  });

  it("describes what was left out, bounded", () => {
    expect(formatBytes(10 * 1024 ** 4)).toBe("10 TiB");
    expect(formatBytes(512)).toBe("512 B");
    expect(describeLeftOut([{ path: "big", reason: "over-file-cap", size: 10 * 1024 ** 4 }])).toBe(
      "big (over the per-file cap, 10 TiB)",
    );
    const many = Array.from({ length: 12 }, (_, i) => ({ path: `f${i}`, reason: "fifo" as const }));
    expect(describeLeftOut(many)).toMatch(/f9 \(a FIFO\), and 2 more$/);
  });
});

describe("copyBack", () => {
  it("mirrors a tree: new and changed files copied, removed ones deleted, links kept as links, mtimes kept", async () => {
    const src = tmp("src");
    const dst = tmp("dst");
    mkdirSync(join(src, "sub", "deep"), { recursive: true });
    writeFileSync(join(src, "a.txt"), "a\n");
    writeFileSync(join(src, "sub", "deep", "b.txt"), "b\n");
    symlinkSync("/etc/passwd", join(src, "link"));
    utimesSync(join(src, "a.txt"), 1_000_000, 1_000_000);
    writeFileSync(join(dst, "gone.txt"), "old\n");
    mkdirSync(join(dst, "gonedir"));
    const r = await copyBack(src, dst, { caps });
    expect(r).toMatchObject({ copied: 3, removed: 2, leftOut: [] });
    expect(readFileSync(join(dst, "sub", "deep", "b.txt"), "utf8")).toBe("b\n");
    expect(readlinkSync(join(dst, "link"))).toBe("/etc/passwd");
    expect(statSync(join(dst, "a.txt")).mtimeMs).toBe(1_000_000_000);
    expect(existsSync(join(dst, "gone.txt"))).toBe(false);
    const again = await copyBack(src, dst, { caps });
    expect(again).toMatchObject({ copied: 0, removed: 0, unchanged: 3 });
  });

  it("drops setuid, setgid, sticky and group/world write on files and dirs", async () => {
    const src = tmp("src");
    const dst = tmp("dst");
    mkdirSync(join(src, "tmp"));
    chmodSync(join(src, "tmp"), 0o1777);
    writeFileSync(join(src, "suid"), "#!/bin/sh\n");
    chmodSync(join(src, "suid"), 0o6755);
    writeFileSync(join(src, "open"), "x\n");
    chmodSync(join(src, "open"), 0o666);
    await copyBack(src, dst, { caps, rootMode: 0o700 });
    expect(mode(join(dst, "tmp"))).toBe(0o755);
    expect(mode(join(dst, "suid"))).toBe(0o755);
    expect(mode(join(dst, "open"))).toBe(0o644);
    expect(mode(dst)).toBe(0o700);
  });

  it("never follows a link: not in the source, not one already in the target", async () => {
    const src = tmp("src");
    const dst = tmp("dst");
    const outside = tmp("outside");
    writeFileSync(join(outside, "secret"), "host\n");
    mkdirSync(join(src, "d"));
    writeFileSync(join(src, "d", "secret"), "agent\n");
    writeFileSync(join(src, "f"), "agent\n");
    symlinkSync(outside, join(src, "out"));
    // The target holds links where the source has a dir and a file.
    symlinkSync(outside, join(dst, "d"));
    symlinkSync(join(outside, "secret"), join(dst, "f"));
    await copyBack(src, dst, { caps });
    expect(readFileSync(join(outside, "secret"), "utf8")).toBe("host\n");
    expect(lstatSync(join(dst, "d")).isDirectory()).toBe(true);
    expect(lstatSync(join(dst, "f")).isFile()).toBe(true);
    expect(lstatSync(join(dst, "out")).isSymbolicLink()).toBe(true);
  });

  it("copies names that are not UTF-8 byte for byte, and mirrors their removal", async () => {
    const src = tmp("src");
    const dst = tmp("dst");
    const odd = Buffer.concat([Buffer.from(`${src}/bad`), Buffer.from([0xff, 0xfe]), Buffer.from("name")]);
    writeFileSync(odd, "x");
    writeFileSync(join(src, "new\nline"), "y");
    expect(await copyBack(src, dst, { caps })).toMatchObject({ copied: 2, leftOut: [] });
    const names = readdirSync(dst, { encoding: "buffer" }).map((n) => n.toString("hex"));
    expect(names).toContain(
      Buffer.concat([Buffer.from("bad"), Buffer.from([0xff, 0xfe]), Buffer.from("name")]).toString("hex"),
    );
    rmSync(odd);
    expect(await copyBack(src, dst, { caps })).toMatchObject({ removed: 1, unchanged: 1 });
  });

  it("leaves FIFOs and sockets out and lists them, without hanging", async () => {
    const src = tmp("src");
    const dst = tmp("dst");
    execFileSync("mkfifo", [join(src, "pipe")]);
    const server = createServer();
    await new Promise<void>((ok) => server.listen(join(src, "sock"), ok));
    try {
      const r = await copyBack(src, dst, { caps });
      expect(r.leftOut).toEqual([
        { path: "pipe", reason: "fifo" },
        { path: "sock", reason: "socket" },
      ]);
      expect(existsSync(join(dst, "pipe"))).toBe(false);
    } finally {
      server.close();
    }
  });

  it("leaves out a file over the per-file cap and files past the per-copy cap, keeps sparse files sparse", async () => {
    const src = tmp("src");
    const dst = tmp("dst");
    writeFileSync(join(src, "huge"), "");
    truncateSync(join(src, "huge"), 10 * 1024 ** 4);
    writeFileSync(join(src, "sparse"), "head");
    truncateSync(join(src, "sparse"), 64 * 1024 ** 2);
    writeFileSync(join(src, "z-late"), Buffer.alloc(1024, 1));
    const r = await copyBack(src, dst, {
      caps: { maxFileBytes: 100 * 1024 ** 2, maxTotalBytes: 64 * 1024 ** 2 + 100 },
    });
    expect(r.leftOut).toEqual([
      { path: "huge", reason: "over-file-cap", size: 10 * 1024 ** 4 },
      { path: "z-late", reason: "over-total-cap", size: 1024 },
    ]);
    expect(existsSync(join(dst, "huge"))).toBe(false);
    const sparse = statSync(join(dst, "sparse"));
    expect(sparse.size).toBe(64 * 1024 ** 2);
    expect(sparse.blocks * 512).toBeLessThan(1024 ** 2);
    expect(readFileSync(join(dst, "sparse")).subarray(0, 4).toString()).toBe("head");
  });
});

describe("keepDir", () => {
  it("moves a dir the work could not leave into the state's kept/, out of the reaper's run dirs", async () => {
    const { keepDir } = await import("../../src/sandbox/kept-dir.js");
    const state = tmp("state");
    const before = process.env.XDG_STATE_HOME;
    process.env.XDG_STATE_HOME = state;
    try {
      const slot = join(state, "ocbox", "run", "r-1-2-abc");
      mkdirSync(slot, { recursive: true });
      writeFileSync(join(slot, "work.txt"), "agent\n");
      const kept = await keepDir(slot);
      expect(kept.moveError).toBeUndefined();
      expect(kept.path.startsWith(join(state, "ocbox", "kept", ""))).toBe(true);
      expect(readFileSync(join(kept.path, "work.txt"), "utf8")).toBe("agent\n");
      expect(existsSync(slot)).toBe(false);
      expect(mode(join(state, "ocbox", "kept"))).toBe(0o700);
    } finally {
      if (before === undefined) delete process.env.XDG_STATE_HOME;
      else process.env.XDG_STATE_HOME = before;
    }
  });
});
