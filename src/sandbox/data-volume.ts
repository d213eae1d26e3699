/**
 * A project's data volume (A3): the agent's ~/.local, OpenCode's sessions included, kept across
 * runs in an engine volume rather than a host dir (decision 9). The volume's root stays the
 * engine's, so the agent gets a `local/` dir in it (the entrypoint links ~/.local there). A volume
 * made by this start is seeded once from the host dir an ocbox before data volumes kept (the
 * state dir's home-local), so that earlier sessions carry over.
 *
 * The dirs go in once per volume and agent user, not on every start (an archive call, about 40 ms
 * of each `up` on the way to ready). What decides is host-owned: the engine's creation time of the
 * volume and a record in ocbox's state dir, which no container mounts. Nothing the agent can
 * write in the volume is read here. What the agent does to its own dirs afterwards it does to its
 * own sessions; under Podman, where the volume's root is the agent's, the entrypoint makes
 * `local/` again if the agent removed it.
 */
import { lstat, readFile } from "node:fs/promises";
import { pack } from "tar-fs";
import { DATA_DIR } from "../image/dockerfile.js";
import type { Engine } from "../runtime/engine.js";
import { replaceFile } from "../util/replace-file.js";
import { packFiles } from "./archive-files.js";
import { hostMode } from "./copy-back-policy.js";
import type { SandboxSpec } from "./spec.js";

const DIRS = ["local/", "local/share/", "local/share/opencode/", "local/state/"];

/** The data volume of this start: whether this start made it, and when the engine made it. */
export interface DataVolume {
  made: boolean;
  /** The engine's `CreatedAt`; "" when the engine gives none. */
  createdAt: string;
}

/** Make the spec's data volume when it is missing; undefined when the spec has none. */
export async function ensureDataVolume(
  engine: Pick<Engine, "volumeCreatedAt" | "createVolume">,
  spec: SandboxSpec,
): Promise<DataVolume | undefined> {
  if (!spec.dataVolume) return undefined;
  const createdAt = await engine.volumeCreatedAt(spec.dataVolume);
  if (createdAt !== undefined) return { made: false, createdAt };
  await engine.createVolume(spec.dataVolume, spec.dataVolumeLabels ?? {}, {});
  return { made: true, createdAt: (await engine.volumeCreatedAt(spec.dataVolume)) ?? "" };
}

/**
 * The record's line for this volume and agent user: the volume's name, the engine's creation time
 * and the owner the dirs were given to. Undefined (put every start) when the engine gives no time.
 */
export function dataVolumeKey(
  spec: Pick<SandboxSpec, "dataVolume" | "agentUser">,
  volume: DataVolume,
): string | undefined {
  if (!spec.dataVolume || volume.createdAt === "") return undefined;
  return `${spec.dataVolume} ${volume.createdAt} ${spec.agentUser.uid}:${spec.agentUser.gid}\n`;
}

/**
 * Give the agent its dirs in the data volume (through the agent container, before it starts)
 * unless the record says this volume got them for this agent user, and copy the old host dir into
 * a volume this start made. The host dir is ocbox's own state dir, but an earlier agent wrote its
 * contents: links are copied as links (they resolve inside the container only), modes are masked
 * and everything becomes the agent's.
 */
export async function fillDataVolume(
  engine: Pick<Engine, "putArchive" | "volumeCreatedAt">,
  agentId: string,
  spec: SandboxSpec,
  volume: DataVolume,
): Promise<{ put: boolean }> {
  const key = dataVolumeKey(spec, volume);
  const record = spec.dataVolumeRecord;
  if (!volume.made && key !== undefined && record !== undefined) {
    // A record that is missing, unreadable or of another volume or user: put the dirs again.
    if ((await readFile(record, "utf8").catch(() => undefined)) === key) return { put: false };
  }
  const owner = spec.agentUser;
  await engine.putArchive(
    agentId,
    DATA_DIR,
    await packFiles(
      DIRS.map((name) => ({ name })),
      owner,
    ),
  );
  const from = spec.dataSeed;
  const st = volume.made && from !== undefined ? await lstat(from).catch(() => undefined) : undefined;
  if (from !== undefined && st?.isDirectory()) {
    const stream = pack(from, {
      dereference: false,
      map: (header) => ({
        ...header,
        name: `local/${header.name}`,
        uid: owner.uid,
        gid: owner.gid,
        mode: header.type === "directory" ? 0o700 : hostMode(header.mode ?? 0o600, "file"),
      }),
    });
    await engine.putArchive(agentId, DATA_DIR, stream as unknown as NodeJS.ReadableStream);
  }
  // Docker's `CreatedAt` of a local volume is its root's mtime, which the dirs just put there
  // moved: the record takes the time as it is now (Podman keeps the creation time).
  if (key !== undefined && record !== undefined) {
    const now = await engine.volumeCreatedAt(spec.dataVolume ?? "");
    const after = now === undefined ? undefined : dataVolumeKey(spec, { ...volume, createdAt: now });
    if (after !== undefined) await replaceFile(record, after, { mode: 0o600 });
  }
  return { put: true };
}
