/**
 * A project's data volume (A3): the agent's ~/.local, OpenCode's sessions included, kept across
 * runs in an engine volume rather than a host dir (decision 9). The volume's root stays the
 * engine's, so the agent gets a `local/` dir in it (the entrypoint links ~/.local there). A volume
 * made by this start is seeded once from the host dir an ocbox before data volumes kept (the
 * state dir's home-local), so that earlier sessions carry over.
 */
import { lstat } from "node:fs/promises";
import { pack } from "tar-fs";
import { DATA_DIR } from "../image/dockerfile.js";
import type { Engine } from "../runtime/engine.js";
import { packFiles } from "./archive-files.js";
import { hostMode } from "./copy-back-policy.js";
import type { SandboxSpec } from "./spec.js";

const DIRS = ["local/", "local/share/", "local/share/opencode/", "local/state/"];

/** Make the spec's data volume when it is missing; true when this call made it. */
export async function ensureDataVolume(
  engine: Pick<Engine, "volumeExists" | "createVolume">,
  spec: SandboxSpec,
): Promise<boolean> {
  if (!spec.dataVolume || (await engine.volumeExists(spec.dataVolume))) return false;
  await engine.createVolume(spec.dataVolume, spec.dataVolumeLabels ?? {}, {});
  return true;
}

/**
 * Give the agent its dirs in the data volume (through the agent container, before it starts) and,
 * with `seed`, copy the old host dir in. The host dir is ocbox's own state dir, but an earlier
 * agent wrote its contents: links are copied as links (they resolve inside the container only),
 * modes are masked and everything becomes the agent's.
 */
export async function fillDataVolume(
  engine: Pick<Engine, "putArchive">,
  agentId: string,
  spec: SandboxSpec,
  seed: boolean | undefined,
): Promise<void> {
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
  if (!seed || from === undefined) return;
  const st = await lstat(from).catch(() => undefined);
  if (!st?.isDirectory()) return;
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
