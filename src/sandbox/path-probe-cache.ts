/**
 * What the engine probe found (path-probe.ts), remembered per engine and path prefix: Docker
 * Desktop, Colima and Podman machines share only some folders, so the answer for /Users/a holds
 * for every project under it, not for /opt. An engine is its endpoint and its own id: a new
 * engine behind the same socket (a reinstalled Docker Desktop, another remote host) starts afresh.
 * Answers older than a day are asked again (the shared folders may have changed). Pure.
 */
import { z } from "zod";

export const PROBE_TTL_MS = 24 * 3600 * 1000;

const answerSchema = z.object({ visible: z.boolean(), at: z.number() });
export const probeCacheSchema = z.object({
  version: z.literal(1),
  /** `endpoint#id` → path prefix → answer. */
  engines: z.record(z.string(), z.record(z.string(), answerSchema)),
});
export type ProbeCache = z.infer<typeof probeCacheSchema>;

export const emptyProbeCache = (): ProbeCache => ({ version: 1, engines: {} });

export function engineKey(endpoint: string, id: string): string {
  return `${endpoint}#${id}`;
}

/**
 * The prefix an answer holds for: the first two components (`/home/alice`, `/Users/bob`,
 * `/tmp/ocbox-ws-…`). Not a whole temp dir such as `/tmp`: an engine may see only one dir under it
 * (the no-shared-files leg shares `/tmp/ocbox-noshare.…` alone), so an answer for `/tmp` made
 * from a marker in `/tmp` itself would be wrong for the workspace. A warm task asks no probe.
 */
export function pathPrefix(path: string): string {
  const parts = path.split("/").filter(Boolean);
  return `/${parts.slice(0, 2).join("/")}`;
}

export function cachedAnswer(
  cache: ProbeCache,
  key: string,
  prefix: string,
  now: number,
): boolean | undefined {
  const a = cache.engines[key]?.[prefix];
  if (!a || now - a.at > PROBE_TTL_MS || a.at > now) return undefined;
  return a.visible;
}

/** The cache with this answer; other engines behind the same endpoint are dropped (it changed). */
export function withAnswer(
  cache: ProbeCache,
  key: string,
  prefix: string,
  visible: boolean,
  now: number,
): ProbeCache {
  const endpoint = key.slice(0, key.lastIndexOf("#") + 1);
  const engines = Object.fromEntries(
    Object.entries(cache.engines).filter(([k]) => k === key || !k.startsWith(endpoint)),
  );
  return { version: 1, engines: { ...engines, [key]: { ...engines[key], [prefix]: { visible, at: now } } } };
}

/** A cache file's text, or an empty cache for one that is missing, damaged or of another version. */
export function parseProbeCache(text: string | undefined): ProbeCache {
  if (text === undefined) return emptyProbeCache();
  try {
    const parsed = probeCacheSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : emptyProbeCache();
  } catch (e) {
    if (e instanceof SyntaxError) return emptyProbeCache();
    throw e;
  }
}
