/**
 * The provider catalogue of the pinned OpenCode (provider id → key variables, SDK package, API
 * host), read once from the binary on the host and cached per OpenCode version under
 * $XDG_CACHE_HOME/ocbox/ (reading the 180 MB binary takes seconds; the cache, milliseconds).
 */
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { OcboxError } from "../errors.js";
import { cacheHome } from "../util/paths.js";
import { parseCatalogue, type ProviderCatalogue } from "./provider-catalogue-text.js";
import { replaceFile } from "../util/replace-file.js";
import { fillModelsCache } from "./models-snapshot.js";

/** Bump when the cached shape or the parse changes. */
const CACHE_FORMAT = 1;

export function catalogueCacheFile(version: string, env: NodeJS.ProcessEnv = process.env): string {
  return join(cacheHome(env), `opencode-${version}-providers.v${CACHE_FORMAT}.json`);
}

async function cached(file: string): Promise<ProviderCatalogue | undefined> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
  try {
    return JSON.parse(text) as ProviderCatalogue;
  } catch (e) {
    if (e instanceof SyntaxError) return undefined; // a torn write: read the binary again
    throw e;
  }
}

/** The catalogue of the binary at `path` (OpenCode `version`), from the cache when it is there. */
/** One read per cache file and process: a long-lived caller (eval, the service) plans many tasks. */
const memo = new Map<string, Promise<ProviderCatalogue>>();

export function readProviderCatalogue(
  binary: { path: string; version: string },
  env: NodeJS.ProcessEnv = process.env,
): Promise<ProviderCatalogue> {
  const file = catalogueCacheFile(binary.version, env);
  let read = memo.get(file);
  if (!read) {
    read = readCatalogue(binary, file, env);
    memo.set(file, read);
    read.catch(() => memo.delete(file));
  }
  return read;
}

async function readCatalogue(
  binary: { path: string; version: string },
  file: string,
  env: NodeJS.ProcessEnv,
): Promise<ProviderCatalogue> {
  const hit = await cached(file);
  if (hit) return hit;
  const bytes = await readFile(binary.path);
  const catalogue = parseCatalogue(bytes);
  if (Object.keys(catalogue).length === 0) {
    throw new OcboxError("OPENCODE", `no provider catalogue found in ${binary.path}`, {
      detail: `OpenCode ${binary.version}: the bundled models.dev data has another shape than ocbox reads`,
      fix: "Use the OpenCode version ocbox pins (npm ci), or update src/opencode/provider-catalogue-text.ts for it.",
    });
  }
  await mkdir(join(file, ".."), { recursive: true });
  // The same bytes give the models files a task sandbox gets (models-snapshot.ts): one read. A
  // snapshot ocbox cannot read is that file's error, said by the task's start when it reads the
  // cache again; the catalogue (and `up`, which needs no models file) does not fail with it.
  await fillModelsCache(binary, bytes, env).catch((e: unknown) => {
    if (!(e instanceof OcboxError)) throw e;
  });
  await replaceFile(file, JSON.stringify(catalogue), { mode: 0o644 });
  return catalogue;
}

/** Provider ids in the host's auth.json (names only; no value is kept). Missing file: none. */
export async function readAuthProviders(file: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw e;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    if (e instanceof SyntaxError) return []; // the auth copy reports a broken file with its fix
    throw e;
  }
  return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)
    ? Object.keys(parsed).sort()
    : [];
}

/** What the planner needs to warn about denied model hosts (PlanInput.providers). */
export async function readProviderFacts(
  binary: { path: string; version: string },
  authFile: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ catalogue: ProviderCatalogue; authProviders: string[] }> {
  const [catalogue, authProviders] = await Promise.all([
    readProviderCatalogue(binary, env),
    readAuthProviders(authFile),
  ]);
  return { catalogue, authProviders };
}
