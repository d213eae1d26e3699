/**
 * The models.dev snapshot of the pinned OpenCode, one file per provider, cached per OpenCode
 * version under $XDG_CACHE_HOME/ocbox/ (read once from the binary: about a second), and the
 * subset a task sandbox gets as OpenCode's models file (`OPENCODE_MODELS_PATH`). OpenCode builds
 * its provider state from every entry of that file on its first request; with the 225 providers
 * of the bundled snapshot that is about 1.4 s of CPU per sandbox, with a task's one or two
 * providers almost nothing (BENCHMARKS.md).
 */
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { OcboxError } from "../errors.js";
import { cacheHome } from "../util/paths.js";
import { parseSnapshot, snapshotOffset, NotData, type ModelsSnapshot } from "./models-snapshot-text.js";

/** Bump when the cached shape or the parse changes. */
const CACHE_FORMAT = 1;
/** Not a provider file: provider ids never start with "_". */
const INDEX = "_index.json";
/** Provider ids as the snapshot has them; nothing else names a file in the cache. */
const PROVIDER_ID = /^[a-z0-9][a-z0-9._-]*$/;
/** The literal is 4.4 MB in 1.18.33; the text handed to the parser stops well past it. */
const MAX_LITERAL_BYTES = 64 * 1024 * 1024;

export function modelsCacheDir(version: string, env: NodeJS.ProcessEnv = process.env): string {
  return join(cacheHome(env), `opencode-${version}-models.v${CACHE_FORMAT}`);
}

interface Binary {
  path: string;
  version: string;
}

function shapeError(binary: Binary, why: string): OcboxError {
  return new OcboxError("OPENCODE", `no models.dev snapshot found in ${binary.path}`, {
    detail: `OpenCode ${binary.version}: ${why}`,
    fix: "Use the OpenCode version ocbox pins (npm ci), or update src/opencode/models-snapshot-text.ts for it.",
  });
}

/** The snapshot in the binary's bytes, as data. */
async function snapshotOf(binary: Binary, bytes: Buffer): Promise<ModelsSnapshot> {
  const offset = snapshotOffset(bytes);
  if (offset === undefined) throw shapeError(binary, "the bundled models.dev literal was not found");
  // Loaded here only: a cache miss is once per OpenCode version.
  const { parseExpressionAt } = await import("acorn");
  const source = bytes.toString("utf8", offset, Math.min(bytes.length, offset + MAX_LITERAL_BYTES));
  let snapshot: ModelsSnapshot | undefined;
  try {
    snapshot = parseSnapshot(source, (s) => parseExpressionAt(s, 0, { ecmaVersion: "latest" }));
  } catch (e) {
    if (e instanceof NotData || e instanceof SyntaxError) throw shapeError(binary, e.message);
    throw e;
  }
  if (!snapshot) throw shapeError(binary, "the bundled models.dev data has another shape than ocbox reads");
  return snapshot;
}

/**
 * Write the cache from the binary's bytes unless it is there. The files go into a temp dir that is
 * renamed into place whole, so a reader sees every file or none; of two processes filling it at
 * once, the second one's rename fails and its copy is removed.
 */
export async function fillModelsCache(
  binary: Binary,
  bytes: Buffer,
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  const dir = modelsCacheDir(binary.version, env);
  if (await readIndex(dir)) return;
  const snapshot = await snapshotOf(binary, bytes);
  const ids = Object.keys(snapshot)
    .filter((id) => PROVIDER_ID.test(id))
    .sort();
  await mkdir(join(dir, ".."), { recursive: true });
  const temp = await mkdtemp(`${dir}.tmp-`);
  try {
    for (const id of ids) await writeFile(join(temp, `${id}.json`), JSON.stringify(snapshot[id]));
    await writeFile(join(temp, INDEX), JSON.stringify(ids));
    if (!(await moveInto(temp, dir)) && !(await readIndex(dir))) {
      // A dir without its index was never whole (nothing here writes one): replaced.
      await rm(dir, { recursive: true, force: true });
      await moveInto(temp, dir);
    }
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
}

/** Rename `from` to `to`; false when `to` is there already (another process filled it). */
async function moveInto(from: string, to: string): Promise<boolean> {
  try {
    await rename(from, to);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOTEMPTY" || code === "EEXIST") return false;
    throw e;
  }
}

async function readIndex(dir: string): Promise<Set<string> | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, INDEX), "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
  try {
    const ids: unknown = JSON.parse(text);
    return Array.isArray(ids) ? new Set(ids.filter((id): id is string => typeof id === "string")) : undefined;
  } catch (e) {
    if (e instanceof SyntaxError) return undefined;
    throw e;
  }
}

/** One index read per cache dir and process; one read per provider file. */
const indexes = new Map<string, Promise<Set<string>>>();
const entries = new Map<string, Promise<unknown>>();

function indexOf(binary: Binary, env: NodeJS.ProcessEnv): Promise<Set<string>> {
  const dir = modelsCacheDir(binary.version, env);
  let read = indexes.get(dir);
  if (!read) {
    read = (async () => {
      const hit = await readIndex(dir);
      if (hit) return hit;
      await fillModelsCache(binary, await readFile(binary.path), env);
      const filled = await readIndex(dir);
      if (!filled) throw shapeError(binary, `the cache at ${dir} could not be written`);
      return filled;
    })();
    indexes.set(dir, read);
    read.catch(() => indexes.delete(dir));
  }
  return read;
}

function entryOf(dir: string, id: string): Promise<unknown> {
  const file = join(dir, `${id}.json`);
  let read = entries.get(file);
  if (!read) {
    read = readFile(file, "utf8").then((text) => {
      try {
        return JSON.parse(text) as unknown;
      } catch (e) {
        if (!(e instanceof SyntaxError)) throw e;
        throw new OcboxError("OPENCODE", `${file} is not JSON: ${e.message}`, {
          fix: `Remove ${dir}; ocbox fills it again from the OpenCode binary.`,
        });
      }
    });
    entries.set(file, read);
    read.catch(() => entries.delete(file));
  }
  return read;
}

/**
 * OpenCode's models file for a sandbox that may call only `providers`: their snapshot entries,
 * as JSON. A provider the snapshot does not have (one an OpenCode config defines, like the
 * scripted model's) is left out; OpenCode takes it from the config as it would anyway. Ids are
 * looked up in the cache's index, never used as paths: they come from configs in the workspace.
 */
export async function modelsFileText(
  binary: Binary,
  providers: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  try {
    return await subsetText(binary, providers, env);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    // The cache went away under a long-lived process (`ocbox clean`, a cleared ~/.cache): again.
    indexes.delete(modelsCacheDir(binary.version, env));
    entries.clear();
    return await subsetText(binary, providers, env);
  }
}

async function subsetText(
  binary: Binary,
  providers: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<string> {
  const index = await indexOf(binary, env);
  const dir = modelsCacheDir(binary.version, env);
  const ids = [...new Set(providers)].filter((id) => index.has(id)).sort();
  const out: Record<string, unknown> = {};
  for (const [id, entry] of await Promise.all(ids.map(async (id) => [id, await entryOf(dir, id)] as const)))
    out[id] = entry;
  return JSON.stringify(out);
}
