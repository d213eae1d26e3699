/**
 * The probes' cache files in the state dir (engine-paths.json, engine-loopback.json): read as a
 * cache (a missing or damaged file is an empty one) and replaced whole, 0600, by rename.
 */
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { parseProbeCache, type ProbeCache } from "./path-probe-cache.js";

export async function readProbeCacheFile(file: string): Promise<ProbeCache> {
  const text = await readFile(file, "utf8").catch((e: NodeJS.ErrnoException) => {
    if (e.code === "ENOENT") return undefined;
    throw e;
  });
  return parseProbeCache(text);
}

export async function writeProbeCacheFile(file: string, cache: ProbeCache): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(cache, null, 2), { mode: 0o600 });
  await rename(tmp, file);
}
