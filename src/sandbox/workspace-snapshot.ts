/**
 * `ocbox up`'s copy mode, the way out while the agent may still write (issue 14 item 2): its
 * workspace volume is copied, by a one-shot container of the sandbox image, into a fresh volume of
 * ocbox's own that no agent mounts; files over the per-file cap are emptied there (never in the
 * agent's volume: its work stays as it is) and listed; then the engine archives the snapshot for the
 * sync (workspace-copy-sync.ts). An agent that grows a file during the copy cannot make the archive
 * stream it: the cap is applied to the snapshot, which only this container writes.
 *
 * The container: no network, read-only root, the agent's volume mounted read-only, root with only
 * the capabilities to read every file and write its own (no CAP_MKNOD: a device cannot be copied,
 * and the agent cannot make one either). Links are copied as links (`-P`), never followed; FIFOs
 * and sockets as such, never opened. A copy that fails fails the sync: a missing file would read
 * as the agent's delete. The list it prints is the agent's data (a forged line can only leave a
 * file out, never put one in).
 */
import { randomBytes } from "node:crypto";
import { OcboxError } from "../errors.js";
import type { ContainerSpec, Engine } from "../runtime/engine.js";
import { parseTrimmed } from "./workspace-trim.js";

const SOURCE = "/ocbox-src";
/** Where the snapshot is in the helper container (the dir its archive is read from). */
export const SNAPSHOT_DIR = "/ocbox-snap";

/** The helper's shell script: copy, then empty and list the files over `maxFileBytes`. */
export function snapshotScript(maxFileBytes: number): string {
  if (!Number.isSafeInteger(maxFileBytes) || maxFileBytes < 0)
    throw new OcboxError("UNEXPECTED", `not a byte count: ${maxFileBytes}`);
  return [
    "set -e",
    `cp -R -P --preserve=mode,timestamps,links --sparse=always ${SOURCE}/. ${SNAPSHOT_DIR}/`,
    `find ${SNAPSHOT_DIR} -xdev -type f -size +${maxFileBytes}c -printf '%s\\t%P\\n' -exec truncate -s 0 {} +`,
  ].join("\n");
}

export function snapshotContainer(input: {
  image: string;
  volume: string;
  snapshot: string;
  maxFileBytes: number;
  labels: Record<string, string>;
}): ContainerSpec {
  return {
    name: `${input.volume}-snap-${randomBytes(3).toString("hex")}`,
    image: input.image,
    labels: input.labels,
    env: {},
    user: "0:0",
    entrypoint: ["sh", "-c", snapshotScript(input.maxFileBytes)],
    networkMode: "none",
    mounts: [
      { type: "volume", source: input.volume, target: SOURCE, readOnly: true },
      { type: "volume", source: input.snapshot, target: SNAPSHOT_DIR },
    ],
    tmpfs: {},
    readOnlyRoot: true,
    capDrop: ["ALL"],
    capAdd: ["DAC_OVERRIDE", "DAC_READ_SEARCH"],
    securityOpt: ["no-new-privileges:true"],
    limits: { memoryBytes: 256 * 1024 ** 2, pids: 32 },
    stopTimeout: 2,
    logMaxSize: "10m",
    logMaxFiles: 1,
  };
}

export interface WorkspaceSnapshot {
  /** The helper container (exited): the engine archives SNAPSHOT_DIR of it. */
  id: string;
  /** Files emptied for being over the per-file cap, with their apparent size. */
  trimmed: Map<string, number>;
  ms: number;
  /** Remove the helper and the snapshot volume. */
  dispose(): Promise<void>;
}

/** Snapshot `volume` (the agent's workspace) into a volume of ours; throws when the copy fails. */
export async function snapshotWorkspace(
  engine: Engine,
  input: { image: string; volume: string; maxFileBytes: number; labels: Record<string, string> },
): Promise<WorkspaceSnapshot> {
  const started = performance.now();
  const snapshot = `${input.volume}-snap-${randomBytes(3).toString("hex")}`;
  await engine.createVolume(snapshot, input.labels, {});
  let id: string | undefined;
  const dispose = async () => {
    if (id !== undefined) await engine.removeContainer(id).catch(() => undefined);
    await engine.removeVolume(snapshot).catch(() => undefined);
  };
  try {
    id = await engine.createContainer(snapshotContainer({ ...input, snapshot }));
    const lines: string[] = [];
    await engine.startContainer(id);
    await engine.followLogs(id, (line) => lines.push(line), AbortSignal.timeout(600_000));
    const state = await engine.containerState(id);
    if (state?.running || state?.exitCode !== 0) {
      throw new OcboxError("UNEXPECTED", `could not snapshot the sandbox's workspace ${input.volume}`, {
        detail: [`exit code ${state?.exitCode ?? "?"}`, ...lines.slice(-10)].join("\n"),
        fix: "Nothing on the host changed. Check the engine's free disk (the snapshot is a copy of the workspace) and run `ocbox sync` again.",
      });
    }
    return { id, trimmed: parseTrimmed(lines), ms: performance.now() - started, dispose };
  } catch (e) {
    await dispose();
    throw e;
  }
}
