/**
 * The probes' cache files in the state dir (engine-paths.json, engine-loopback.json): read as a
 * cache (a missing or damaged file is an empty one) and replaced whole, 0600, by rename.
 */
import { mkdir, readFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { Engine } from "../runtime/engine.js";
import { engineKey, parseProbeCache, type ProbeCache } from "./path-probe-cache.js";
import { replaceFile } from "../util/replace-file.js";

const keys = new WeakMap<Engine, Promise<string>>();

/**
 * The probes' key for an engine (its endpoint and its own id), asked once per engine object: a
 * task's plan no longer pays the engine's /version and /info for it (issue 16). A failed ask is
 * asked again.
 */
export function probeEngineKey(engine: Engine): Promise<string> {
  let key = keys.get(engine);
  if (!key) {
    key = engine.info().then((info) => engineKey(engine.endpoint, info.id));
    keys.set(engine, key);
    key.catch(() => keys.delete(engine));
  }
  return key;
}

export async function readProbeCacheFile(file: string): Promise<ProbeCache> {
  const text = await readFile(file, "utf8").catch((e: NodeJS.ErrnoException) => {
    if (e.code === "ENOENT") return undefined;
    throw e;
  });
  return parseProbeCache(text);
}

export async function writeProbeCacheFile(file: string, cache: ProbeCache): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  await replaceFile(file, JSON.stringify(cache, null, 2), { mode: 0o600 });
}
