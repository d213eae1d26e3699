/**
 * A state file replaced whole by many writers at once: every write lands (no ENOENT from one
 * writer renaming another's temp file away, which failed CI when two tasks cached a probe answer
 * together), the file is whole and 0600, and no temp file is left. No Docker.
 */
import { mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readProbeCacheFile, writeProbeCacheFile } from "../../src/sandbox/probe-cache-file.js";
import { replaceFile, replaceFileSync } from "../../src/util/replace-file.js";

describe("replaceFile", () => {
  it("twenty concurrent writers in one process all succeed; the file is one of them, whole, 0600", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ocbox-replace-"));
    const file = join(dir, "state.json");
    const texts = Array.from({ length: 20 }, (_, i) =>
      JSON.stringify({ writer: i, pad: "x".repeat(10_000) }),
    );
    await Promise.all(texts.map((t) => replaceFile(file, t, { mode: 0o600 })));
    expect(texts).toContain(readFileSync(file, "utf8"));
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(["state.json"]);
  });

  it("a write into a folder that is gone fails as ENOENT and leaves nothing", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ocbox-replace-"));
    await expect(replaceFile(join(dir, "no", "f.json"), "{}", { mode: 0o600 })).rejects.toMatchObject({
      code: "ENOENT",
    });
    expect(() => replaceFileSync(join(dir, "no", "f.json"), "{}", { mode: 0o600 })).toThrow(/ENOENT/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("the engine-path cache written by two tasks at once (the CI failure) reads back as one of them", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ocbox-replace-"));
    const file = join(dir, "state", "engine-paths.json");
    const a = { version: 1 as const, engines: { "unix:///a#A": { "/tmp/x": { visible: true, at: 1 } } } };
    const b = { version: 1 as const, engines: { "unix:///a#A": { "/work/y": { visible: false, at: 2 } } } };
    await Promise.all([writeProbeCacheFile(file, a), writeProbeCacheFile(file, b)]);
    expect([a, b]).toContainEqual(await readProbeCacheFile(file));
    expect(readdirSync(join(dir, "state"))).toEqual(["engine-paths.json"]);
  });
});
