/**
 * Whether the engine can see a path of this machine (issue 14 item 1): a marker dir with a random
 * token is made under the path's prefix, a probe container (created, never started: no process
 * runs) bind-mounts it, and the token is read back through the archive API. The engine sees the
 * path when the container can be made and holds the same token; a refused bind ("bind source path
 * does not exist") or another dir under that name (a remote engine's own /home/alice) is "no".
 * Answers are cached in the state dir per engine and prefix (path-probe-cache.ts).
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Engine } from "../runtime/engine.js";
import { pathNotVisible } from "../runtime/engine-errors.js";
import { resourceLabels } from "../runtime/labels.js";
import { currentOwner } from "../runtime/owner.js";
import { stateHome } from "../util/paths.js";
import { readOneFile } from "./archive-files.js";
import { cachedAnswer, pathPrefix, withAnswer } from "./path-probe-cache.js";
import { probeEngineKey, readProbeCacheFile, writeProbeCacheFile } from "./probe-cache-file.js";

const TARGET = "/ocbox-probe";

export interface ProbeAnswer {
  visible: boolean;
  prefix: string;
  cached: boolean;
  /** Why no probe ran (no marker could be made: a dir this user cannot write); not cached. */
  unprobed?: string;
}

export function probeCacheFile(env: NodeJS.ProcessEnv = process.env): string {
  return join(stateHome(env), "engine-paths.json");
}

/** The engine's answer for `path`, from the cache or a fresh probe (then cached). */
export async function engineSeesPath(
  engine: Engine,
  path: string,
  image: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ProbeAnswer> {
  const prefix = pathPrefix(path);
  const key = await probeEngineKey(engine);
  const file = probeCacheFile(env);
  const now = Date.now();
  const known = cachedAnswer(await readProbeCacheFile(file), key, prefix, now);
  if (known !== undefined) return { visible: known, prefix, cached: true };
  const visible = await probe(engine, [prefix, path], image);
  if (typeof visible === "string") return { visible: true, prefix, cached: false, unprobed: visible };
  // Read again: another ocbox may have written its answer meanwhile.
  await writeProbeCacheFile(file, withAnswer(await readProbeCacheFile(file), key, prefix, visible, now));
  return { visible, prefix, cached: false };
}

/**
 * The marker goes in the first of `dirs` this user can write (the prefix, else the path itself);
 * none writable (an eval over a task set root owns, run by another user) is a reason, not an error.
 */
async function makeMarker(dirs: readonly string[], token: string): Promise<string | { unprobed: string }> {
  for (const dir of dirs) {
    try {
      const marker = await mkdtemp(join(dir, ".ocbox-probe-"));
      await writeFile(join(marker, "token"), token, { mode: 0o644 });
      return marker;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== "EACCES" && code !== "EROFS" && code !== "EPERM" && code !== "ENOENT") throw e;
    }
  }
  return { unprobed: `no probe marker could be made in ${dirs.join(" or ")}` };
}

/** Whether the engine sees the marker; a string says why no probe could run. */
async function probe(engine: Engine, dirs: readonly string[], image: string): Promise<boolean | string> {
  const token = randomBytes(16).toString("hex");
  const made = await makeMarker(dirs, token);
  if (typeof made !== "string") return made.unprobed;
  const marker = made;
  const runId = randomBytes(4).toString("hex");
  try {
    let id: string;
    try {
      id = await engine.createContainer(probeContainer(image, marker, runId));
    } catch (e) {
      if (pathNotVisible(e)) return false;
      throw e;
    }
    try {
      const tar = await engine.getArchive(id, `${TARGET}/token`);
      if (!tar) return false;
      const { bytes } = await readOneFile(tar, "token", 64);
      return bytes?.toString("utf8") === token;
    } finally {
      await engine.removeContainer(id);
    }
  } finally {
    await rm(marker, { recursive: true, force: true });
  }
}

function probeContainer(image: string, marker: string, runId: string) {
  return {
    name: `ocbox-probe-${runId}`,
    image,
    labels: resourceLabels({
      sandboxId: "path-probe",
      runId,
      role: "path-probe",
      owner: currentOwner(),
      lifetime: "session",
      startedAt: new Date(),
    }),
    env: {},
    user: "65534:65534",
    entrypoint: ["true"],
    networkMode: "none",
    mounts: [{ type: "bind" as const, source: marker, target: TARGET, readOnly: true }],
    tmpfs: {},
    readOnlyRoot: true,
    capDrop: ["ALL"],
    capAdd: [],
    securityOpt: ["no-new-privileges:true"],
    limits: { memoryBytes: 16 * 1024 ** 2, pids: 8 },
    stopTimeout: 1,
    logMaxSize: "1m",
    logMaxFiles: 1,
  };
}
