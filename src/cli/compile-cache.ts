/**
 * V8's code cache for the `ocbox` bundle (issue 16, CLI start). Compiling the bundle's chunks is
 * the largest part of a command's start once its modules are bundled: `up`'s chunks took 70 ms to
 * load cold and 39 ms from a code cache (measured, 2 cores). Node 22.1+ has this built in
 * (`module.enableCompileCache`); on Node 20 the CommonJS loader's compile step is wrapped for the
 * bundle's own files: each is compiled with the cached data of its exact bytes, and a chunk that
 * had none, or whose cache V8 rejected (another Node, other V8 flags), has its cache written when
 * the process exits, with what the run compiled.
 *
 * The cache is code that runs as the user, so it lives only in a directory of the user's own that
 * nobody else can write (created 0700; one owned by another user, a symlink or one open to group or
 * others turns the cache off for the process). Files are written whole (temp file, then rename),
 * named by the chunk and a hash of its bytes, so a changed chunk never meets an old cache. Any
 * failure here compiles as Node would: a cache is never a reason for a command to fail.
 */
import { createHash } from "node:crypto";
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { Module, createRequire } from "node:module";
import { basename, dirname, join, sep } from "node:path";
import { Script, constants as vmConstants } from "node:vm";
import { replaceFileSync } from "../util/replace-file.js";

type Compile = (this: CompilingModule, content: string, filename: string) => unknown;
interface CompilingModule {
  exports: unknown;
  _compile: Compile;
}

/** Node 22.1+: the loader's own cache (CommonJS and ESM). */
type NodeCompileCache = (dir: string) => unknown;

/**
 * A directory that only this user can write, made if missing; undefined when it is not one. Its
 * parent is held to the same (someone who may write there could swap the directory for theirs).
 */
export function privateCacheDir(dir: string): string | undefined {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const uid = process.getuid?.();
    const onlyMine = (path: string) => {
      const st = lstatSync(path);
      return st.isDirectory() && (uid === undefined || st.uid === uid) && (st.mode & 0o022) === 0;
    };
    return onlyMine(dir) && onlyMine(dirname(dir)) ? dir : undefined;
  } catch {
    return undefined;
  }
}

/** The cache file of one chunk's bytes. */
export function cacheFileOf(dir: string, filename: string, content: string): string {
  const digest = createHash("sha256").update(content).digest("hex").slice(0, 24);
  return join(dir, `${basename(filename)}-${digest}-${process.version}-${process.arch}.v8`);
}

export interface CompileCacheState {
  /** Chunks compiled with a cache V8 took. */
  hits: string[];
  /** Chunks whose cache is written at exit (none, or rejected). */
  misses: string[];
  /** Write the caches of the misses (done at exit). */
  flush(): void;
}

const CACHE_NAME = /^(.+)-[0-9a-f]{24}-v[0-9.]+-[a-z0-9]+\.v8$/;
/** A cache of a chunk this bundle no longer has, untouched this long, goes (another install may share the dir). */
const STALE_MS = 30 * 24 * 3600 * 1000;

/** Remove what an older build left: caches of chunks gone from the bundle and old temp files. */
function prune(cacheDir: string, bundleDir: string, now = Date.now()): void {
  for (const name of readdirSync(cacheDir)) {
    const path = join(cacheDir, name);
    const chunk = CACHE_NAME.exec(name)?.[1];
    if (chunk !== undefined && existsSync(join(bundleDir, chunk))) continue;
    const st = lstatSync(path, { throwIfNoEntry: false });
    if (st?.isFile() === true && now - st.mtimeMs > (chunk === undefined ? 3600 * 1000 : STALE_MS))
      rmSync(path, { force: true });
  }
}

/**
 * Turn the cache on for the CommonJS files under `bundleDir` (the bundle's own directory), kept in
 * `dir`. Returns what it did (for tests), or undefined when it is off (no private directory).
 */
export function enableCompileCache(dir: string, bundleDir: string): CompileCacheState | "node" | undefined {
  const cacheDir = privateCacheDir(dir);
  if (cacheDir === undefined) return undefined;
  const builtin = (Module as unknown as { enableCompileCache?: NodeCompileCache }).enableCompileCache;
  if (typeof builtin === "function") {
    builtin(cacheDir);
    return "node";
  }
  const proto = Module.prototype as unknown as CompilingModule;
  const original: Compile = proto._compile;
  const prefix = bundleDir.endsWith(sep) ? bundleDir : bundleDir + sep;
  const pending: { file: string; script: Script }[] = [];
  const state: CompileCacheState = {
    hits: [],
    misses: [],
    flush() {
      if (pending.length === 0) return;
      for (const { file, script } of pending.splice(0)) {
        try {
          replaceFileSync(file, script.createCachedData(), { mode: 0o600 });
        } catch {
          // A full disk or a removed directory: the next run compiles without it.
        }
      }
      try {
        prune(cacheDir, bundleDir);
      } catch {
        // Left for the next new build.
      }
    },
  };
  proto._compile = function (this: CompilingModule, content: string, filename: string) {
    if (!filename.startsWith(prefix)) return original.call(this, content, filename);
    let script: Script;
    let file: string;
    try {
      file = cacheFileOf(cacheDir, filename, content);
      let cachedData: Buffer | undefined;
      try {
        cachedData = readFileSync(file);
      } catch {
        cachedData = undefined;
      }
      // The shebang line becomes a comment: inside the wrapper it is not the script's first line.
      const body = content.startsWith("#!") ? `//${content.slice(2)}` : content;
      script = new Script(Module.wrap(body), {
        filename,
        cachedData,
        importModuleDynamically: vmConstants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
      });
      if (cachedData === undefined || script.cachedDataRejected === true) {
        state.misses.push(basename(filename));
        pending.push({ file, script });
      } else state.hits.push(basename(filename));
    } catch {
      return original.call(this, content, filename);
    }
    const wrapper = script.runInThisContext({ displayErrors: true }) as (...args: unknown[]) => unknown;
    const require = createRequire(filename);
    return wrapper.call(this.exports, this.exports, require, this, filename, dirname(filename));
  };
  process.once("exit", () => state.flush());
  return state;
}
