import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { Module, createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { cacheFileOf, enableCompileCache, privateCacheDir } from "../../src/cli/compile-cache.js";

// The CommonJS loader's compile step, put back after each test (the cache wraps it for the process).
const proto = Module.prototype as unknown as { _compile: unknown };
const original = proto._compile;
const require = createRequire(import.meta.url);

let root: string;
let bundle: string;
let cache: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "ocbox-compile-cache-"));
  bundle = join(root, "bin");
  cache = join(root, "cache", "v8");
  mkdirSync(bundle);
  writeFileSync(join(bundle, "package.json"), '{ "type": "commonjs" }\n');
  writeFileSync(
    join(bundle, "main.js"),
    '#!/usr/bin/env node\nconst { two } = require("./dep.js");\nmodule.exports = { sum: 1 + two, dir: __dirname, self: __filename };\n',
  );
  writeFileSync(join(bundle, "dep.js"), "exports.two = 2;\n");
});
afterEach(() => {
  proto._compile = original;
  for (const key of Object.keys(require.cache)) if (key.startsWith(root)) delete require.cache[key];
  rmSync(root, { recursive: true, force: true });
});

/** Load the bundle's main file as a fresh process would (a clean module cache). */
function load(): { sum: number; dir: string; self: string } {
  for (const key of Object.keys(require.cache)) if (key.startsWith(root)) delete require.cache[key];
  return require(join(bundle, "main.js")) as { sum: number; dir: string; self: string };
}

function state(): Exclude<ReturnType<typeof enableCompileCache>, "node" | undefined> {
  const s = enableCompileCache(cache, bundle);
  if (s === undefined || s === "node") throw new Error(`expected the Node 20 path, got ${String(s)}`);
  return s;
}

describe("the bundle's code cache (cli/compile-cache.ts)", () => {
  // That a new process takes the written cache (V8 accepts it) is test/integration/compile-cache.test.ts.
  it("compiles a chunk without a cache, writes it at exit (0600 in a 0700 dir), and uses it next time", () => {
    const first = state();
    expect(load()).toEqual({ sum: 3, dir: bundle, self: join(bundle, "main.js") });
    expect(first.misses.sort()).toEqual(["dep.js", "main.js"]);
    first.flush();
    expect(statSync(cache).mode & 0o777).toBe(0o700);
    const files = readdirSync(cache);
    expect(files).toHaveLength(2);
    for (const f of files) expect(statSync(join(cache, f)).mode & 0o777).toBe(0o600);

    proto._compile = original;
    const second = state();
    expect(load().sum).toBe(3);
    expect(second.hits.sort()).toEqual(["dep.js", "main.js"]);
    expect(second.misses).toEqual([]);
  });

  it("never uses a cache of other bytes: a changed chunk compiles anew under its own name", () => {
    state().flush();
    load();
    proto._compile = original;
    const s0 = state();
    load();
    s0.flush();
    writeFileSync(join(bundle, "dep.js"), "exports.two = 20;\n");
    proto._compile = original;
    const s = state();
    expect(load().sum).toBe(21);
    expect(s.misses).toEqual(["dep.js"]);
    expect(s.hits).toEqual(["main.js"]);
  });

  it("compiles as Node would when a cache file is garbage, and replaces it", () => {
    // Bytes this process has not compiled (V8 keeps what it compiled in memory as well).
    const dep = join(bundle, "dep.js");
    const text = `exports.two = 2; // ${Math.random()}\n`;
    writeFileSync(dep, text);
    mkdirSync(cache, { recursive: true, mode: 0o700 });
    const file = cacheFileOf(cache, dep, text);
    writeFileSync(file, "not a code cache", { mode: 0o600 });
    const s = state();
    expect(load().sum).toBe(3);
    expect(s.misses).toContain("dep.js");
    s.flush();
    expect(readFileSync(file, "utf8")).not.toBe("not a code cache");
  });

  it("leaves files outside the bundle's dir to Node", () => {
    const other = join(root, "other.js");
    writeFileSync(other, "module.exports = 7;\n");
    const s = state();
    expect(require(other)).toBe(7);
    expect(s.hits).toEqual([]);
    expect(s.misses).toEqual([]);
  });

  it("is off when the dir or its parent is open to others, a symlink, or not a dir (the cache is code that runs as the user)", () => {
    mkdirSync(cache, { recursive: true });
    chmodSync(cache, 0o777);
    expect(privateCacheDir(cache)).toBeUndefined();
    expect(enableCompileCache(cache, bundle)).toBeUndefined();
    expect(proto._compile).toBe(original);
    chmodSync(cache, 0o700);
    expect(privateCacheDir(cache)).toBe(cache);

    const elsewhere = join(root, "elsewhere");
    mkdirSync(elsewhere, { mode: 0o700 });
    const link = join(root, "link");
    symlinkSync(elsewhere, link);
    expect(privateCacheDir(link)).toBeUndefined();

    const file = join(root, "file");
    writeFileSync(file, "");
    expect(privateCacheDir(file)).toBeUndefined();

    // A parent others may write: they could swap the dir for one of theirs.
    const parent = join(root, "cache");
    chmodSync(parent, 0o777);
    expect(privateCacheDir(cache)).toBeUndefined();
    chmodSync(parent, 0o755);
    expect(privateCacheDir(cache)).toBe(cache);
  });

  it("prunes caches of chunks the bundle no longer has once they are a month old, and old temp files", () => {
    mkdirSync(cache, { recursive: true, mode: 0o700 });
    const old = (Date.now() - 31 * 24 * 3600 * 1000) / 1000;
    const gone = join(cache, `gone-AbCd.js-${"0".repeat(24)}-v20.0.0-x64.v8`);
    const recent = join(cache, `recent-AbCd.js-${"1".repeat(24)}-v20.0.0-x64.v8`);
    const tmp = join(cache, `x.v8.123-abcd.tmp`);
    for (const f of [gone, recent, tmp]) writeFileSync(f, "");
    utimesSync(gone, old, old);
    utimesSync(tmp, old, old);
    const s = state();
    load();
    s.flush();
    const left = readdirSync(cache);
    expect(left).not.toContain(gone.slice(cache.length + 1));
    expect(left).not.toContain(tmp.slice(cache.length + 1));
    expect(left).toContain(recent.slice(cache.length + 1));
    expect(left.filter((f) => f.startsWith("main.js-") || f.startsWith("dep.js-"))).toHaveLength(2);
  });
});
