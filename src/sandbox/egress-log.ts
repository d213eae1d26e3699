/**
 * The egress sidecar's access log, read back through the engine's archive API (no host dir):
 * from the running sidecar while it lives, and from its volume once it is gone, with a throwaway
 * container that mounts the volume read-only and never starts. The sidecar can write all of it:
 * only a regular file named access.log is taken, at most ACCESS_LOG_CAP bytes (archive-files.ts),
 * and how to read it comes from the control record in ocbox's own dir, never from the volume.
 */
import { rename, rm } from "node:fs/promises";
import { readEgressControl, type EgressControl } from "../egress/control.js";
import { parseDecisions, type Decision } from "../egress/decisions.js";
import { ACCESS_LOG, ACCESS_LOG_CAP, appendDecisions, decisionsOf } from "./egress-sidecar.js";
import { EGRESS_DIR } from "../image/dockerfile.js";
import type { Engine } from "../runtime/engine.js";
import { LABEL, LABELS_VERSION } from "../runtime/labels.js";
import { currentOwner } from "../runtime/owner.js";
import { readOneFile } from "./archive-files.js";

type LogEngine = Pick<Engine, "getArchive" | "volumeExists" | "createContainer" | "removeContainer">;

/** The text of the access log in a container's EGRESS_DIR; "" when there is none. */
export async function readAccessLogOf(
  engine: Pick<Engine, "getArchive">,
  containerId: string,
): Promise<string> {
  const stream = await engine.getArchive(containerId, `${EGRESS_DIR}/${ACCESS_LOG}`);
  if (!stream) return "";
  return (await readOneFile(stream, ACCESS_LOG, ACCESS_LOG_CAP)).bytes?.toString("utf8") ?? "";
}

const READER_AT = "/ocbox-egress";

/**
 * The text of the access log in an egress volume, through a container that is created with the
 * volume read-only and removed, never started. "" when the volume is gone.
 */
export async function readAccessLogInVolume(engine: LogEngine, control: EgressControl): Promise<string> {
  if (!(await engine.volumeExists(control.volume))) return "";
  const owner = currentOwner();
  const id = await engine.createContainer({
    name: `ocbox-read-${control.id}`.slice(0, 120),
    image: control.image,
    labels: {
      [LABEL.managed]: "true",
      [LABEL.version]: String(LABELS_VERSION),
      [LABEL.role]: "reader",
      [LABEL.ownerHost]: owner.host,
      [LABEL.ownerPid]: String(owner.pid),
      [LABEL.ownerStart]: owner.start,
    },
    env: {},
    user: "65534:65534",
    entrypoint: ["/bin/false"],
    networkMode: "none",
    mounts: [{ type: "volume", source: control.volume, target: READER_AT, readOnly: true }],
    tmpfs: {},
    readOnlyRoot: true,
    capDrop: ["ALL"],
    capAdd: [],
    securityOpt: ["no-new-privileges"],
    limits: {},
    stopTimeout: 0,
    logMaxSize: "1m",
    logMaxFiles: 1,
  });
  try {
    const stream = await engine.getArchive(id, `${READER_AT}/${ACCESS_LOG}`);
    if (!stream) return "";
    return (await readOneFile(stream, ACCESS_LOG, ACCESS_LOG_CAP)).bytes?.toString("utf8") ?? "";
  } finally {
    await engine.removeContainer(id);
  }
}

/**
 * The decisions of a running sidecar so far, without taking them (`ocbox egress log`, monitors).
 * None unless the control record names this volume.
 */
export async function peekEgress(
  engine: Pick<Engine, "getArchive">,
  containerId: string,
  volume: string,
  controlFile: string | undefined,
): Promise<Decision[]> {
  const control = controlFile ? await readEgressControl(controlFile) : undefined;
  if (!control || control.volume !== volume) return [];
  return decisionsOf(await readAccessLogOf(engine, containerId), control);
}

/** A running sandbox's decisions so far, read as its own plan says. */
export async function liveDecisions(
  engine: Pick<Engine, "getArchive">,
  egressId: string,
  plan: { allow: string[]; public?: boolean; gatewayPorts: Record<number, string> },
): Promise<Decision[]> {
  return parseDecisions(await readAccessLogOf(engine, egressId), plan);
}

/**
 * Move a sidecar's decisions into the decision log, once: the control record is claimed by a
 * rename before the log is read, so two collectors (`ocbox down` and the starting process's stop,
 * or the reaper) never append the same lines twice; it is put back when reading fails, and
 * removed once the decisions are moved. Call it once the sidecar is gone. Returns the decisions moved.
 */
export async function collectEgress(
  engine: LogEngine,
  controlFile: string,
  volume: string | undefined,
  decisionLog?: string,
): Promise<Decision[]> {
  const claimed = `${controlFile}.${process.pid}.collecting`;
  try {
    await rename(controlFile, claimed);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return []; // gone, or another collector took it
    throw e;
  }
  const control = await readEgressControl(claimed);
  if (!control || (volume !== undefined && control.volume !== volume)) {
    await rename(claimed, controlFile);
    return [];
  }
  let decisions: Decision[];
  try {
    const target = decisionLog ?? control.decisionLog;
    decisions = target ? decisionsOf(await readAccessLogInVolume(engine, control), control) : [];
    if (target) await appendDecisions(target, decisions);
  } catch (e) {
    await rename(claimed, controlFile);
    throw e;
  }
  await rm(claimed, { force: true });
  return decisions;
}
