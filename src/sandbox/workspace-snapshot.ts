/**
 * Copy mode, the way out (issue 14 item 2), for `ocbox run`'s stopped agent and `ocbox up`'s
 * running one alike: what changed in the agent's workspace volume, fetched into a fresh volume of
 * ocbox's own that no agent mounts, in two one-shot helper containers of the sandbox image:
 *
 * 1. list: the tree and the hashes of the files within the per-file cap (workspace-listing.ts),
 *    read back through the archive API; the host compares it with the base;
 * 2. fetch, only when something is new or changed: those paths alone (with their parents) copied
 *    into the helper's volume, files over the cap emptied there and listed (never in the agent's
 *    volume: its work stays as it is); the engine then archives that tree for the sync.
 *
 * Every control file the host reads (listing, hashes, trimmed list) is written by these helpers
 * into their own volume and read through the archive API, never from a container's log stream
 * (a log follow can end before the engine has copied a short-lived container's last lines: the
 * flaky "10 TiB file came back empty" of up-copy.test.ts).
 *
 * The helpers: no network, read-only root, the agent's volume mounted read-only, root with only the
 * capabilities to read every file and write their own (no CAP_MKNOD). Links are copied as links,
 * never followed; FIFOs and sockets never opened. A listing that fails fails the sync (a missing
 * file would read as the agent's delete).
 */
import { randomBytes } from "node:crypto";
import { OcboxError } from "../errors.js";
import type { ContainerSpec, Engine } from "../runtime/engine.js";
import { traced } from "../util/trace.js";
import { packFiles, readOneFile } from "./archive-files.js";
import type { CopyBackCaps } from "./copy-back-policy.js";
import type { Excluded } from "./copy-excludes.js";
import type { Tree } from "./sync-decision.js";
import {
  fetchScript,
  listScript,
  needsHashes,
  OUT_DIR,
  parseHashes,
  parseListing,
  parseTrimmedList,
  planFromListing,
  SOURCE_DIR,
  TREE_DIR,
  type ListingPlan,
} from "./workspace-listing.js";

/** The dir the sync archives from the fetch helper. */
export const SNAPSHOT_DIR = TREE_DIR;
/** Cap on a control file read back (a listing of ~1 M entries). */
const CONTROL_CAP = 512 * 1024 ** 2;

/** A sync helper: `what` names it ("list", "fetch"), `script` is its shell script. */
export function syncHelperContainer(
  input: { image: string; volume: string; snapshot: string; labels: Record<string, string> },
  what: string,
  script: string,
): ContainerSpec {
  return {
    name: `${input.volume}-${what}-${randomBytes(3).toString("hex")}`,
    image: input.image,
    labels: input.labels,
    env: {},
    user: "0:0",
    entrypoint: ["sh", "-c", script],
    networkMode: "none",
    mounts: [
      { type: "volume", source: input.volume, target: SOURCE_DIR, readOnly: true },
      { type: "volume", source: input.snapshot, target: OUT_DIR },
    ],
    tmpfs: {},
    readOnlyRoot: true,
    capDrop: ["ALL"],
    capAdd: ["DAC_OVERRIDE", "DAC_READ_SEARCH"],
    securityOpt: ["no-new-privileges:true"],
    limits: { memoryBytes: 256 * 1024 ** 2, pids: 32 },
    stopTimeout: 2,
    logMaxSize: "1m",
    logMaxFiles: 1,
  };
}

/** Run a created helper to its end; throws with its last lines when it did not exit 0. */
async function runHelper(engine: Engine, id: string, what: string): Promise<void> {
  const lines: string[] = [];
  await engine.startContainer(id);
  // Only a wait (the lines are said on failure): the helper's results are files, read below.
  await engine.followLogs(id, (line) => lines.push(line), AbortSignal.timeout(600_000));
  const state = await engine.containerState(id);
  if (state?.running || state?.exitCode !== 0) {
    throw new OcboxError("UNEXPECTED", `could not ${what} the sandbox's workspace`, {
      detail: [`exit code ${state?.exitCode ?? "?"}`, ...lines.slice(-10)].join("\n"),
      fix: "Nothing on the host changed. Check the engine's free disk and run the sync again (`ocbox sync`).",
    });
  }
}

async function controlFile(engine: Engine, id: string, name: string): Promise<Buffer> {
  const tar = await engine.getArchive(id, `${OUT_DIR}/${name}`);
  const read = tar ? await readOneFile(tar, name, CONTROL_CAP) : undefined;
  if (!read?.bytes || read.truncated)
    throw new OcboxError("UNEXPECTED", `the sync helper's ${name} is missing or too large`, {
      fix: "Nothing on the host changed. Run the sync again (`ocbox sync`).",
    });
  return read.bytes;
}

export interface WorkspaceSnapshot {
  /** What the listing says against the base. */
  plan: ListingPlan;
  /** The fetch helper (exited), whose SNAPSHOT_DIR holds the candidates; none when nothing changed. */
  id: string | undefined;
  /** Fetched files emptied for being over the per-file cap, with their apparent size. */
  trimmed: Map<string, number>;
  ms: { list: number; fetch: number };
  /** Remove the helpers and the snapshot volume. */
  dispose(): Promise<void>;
}

export interface SnapshotInput {
  image: string;
  /** The agent's workspace volume. */
  volume: string;
  labels: Record<string, string>;
  base: Tree;
  caps: CopyBackCaps;
  excluded: Excluded;
  /** Plain names find may skip (workspace-listing.ts prunableNames). */
  prune: readonly string[];
}

/** List `volume` against the base, then fetch what changed into a volume of ours. */
export async function snapshotWorkspace(engine: Engine, input: SnapshotInput): Promise<WorkspaceSnapshot> {
  const snapshot = `${input.volume}-snap-${randomBytes(3).toString("hex")}`;
  await engine.createVolume(snapshot, input.labels, {});
  const ids: string[] = [];
  const dispose = async () => {
    for (const id of ids) await engine.removeContainer(id).catch(() => undefined);
    await engine.removeVolume(snapshot).catch(() => undefined);
  };
  try {
    const t0 = performance.now();
    const spec = { ...input, snapshot };
    const lister = await engine.createContainer(
      syncHelperContainer(
        spec,
        "list",
        listScript(input.caps.maxFileBytes, input.prune, needsHashes(input.base)),
      ),
    );
    ids.push(lister);
    await traced("sync.list", () => runHelper(engine, lister, "list"));
    const listing = parseListing(await controlFile(engine, lister, "list"));
    const hashes = parseHashes(await controlFile(engine, lister, "hashes"));
    const plan = planFromListing(listing, hashes, input.base, input);
    const t1 = performance.now();
    if (plan.candidates.length === 0)
      return { plan, id: undefined, trimmed: new Map(), ms: { list: t1 - t0, fetch: 0 }, dispose };
    const fetcher = await engine.createContainer(
      syncHelperContainer(spec, "fetch", fetchScript(input.caps.maxFileBytes)),
    );
    ids.push(fetcher);
    const want = plan.candidates.map((p) => `${p}\0`).join("");
    await engine.putArchive(
      fetcher,
      OUT_DIR,
      await packFiles([{ name: "want", content: want }], { uid: 0, gid: 0 }),
    );
    await traced("sync.fetch", () => runHelper(engine, fetcher, "fetch"));
    const trimmed = parseTrimmedList(await controlFile(engine, fetcher, "trimmed"));
    return { plan, id: fetcher, trimmed, ms: { list: t1 - t0, fetch: performance.now() - t1 }, dispose };
  } catch (e) {
    await dispose();
    throw e;
  }
}
