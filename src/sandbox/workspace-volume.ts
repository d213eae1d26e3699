/**
 * Copy mode's workspace volume (issue 14 item 2): a volume of one container, removed with it, filled
 * with the workspace (workspace-copy-in.ts) once the agent container exists, then its root is given to the
 * agent by the same one-shot chown container as the cache volumes' (a fresh volume's root is the
 * engine's and the archive API cannot change it).
 */
import { OcboxError } from "../errors.js";
import type { Engine } from "../runtime/engine.js";
import { LABEL } from "../runtime/labels.js";
import { ownerInitContainer } from "./cache-volumes.js";
import type { Ids } from "./ownership.js";

/**
 * `dev.ocbox.kind` of `ocbox up`'s workspace volume: it holds the agent's work until a sync brought
 * it back, so the reaper never takes it (a crashed `up` loses nothing); `ocbox down` removes it
 * after its sync, `ocbox clean --volumes` on purpose.
 */
export const KEPT_WORKSPACE_KIND = "workspace";

export function isKeptWorkspace(labels: Record<string, string> | undefined): boolean {
  return labels?.[LABEL.kind] === KEPT_WORKSPACE_KIND;
}

/** The one-shot chown of the volume's root to the agent (a fresh volume's root is the engine's). */
export async function giveVolumeRoot(
  engine: Engine,
  input: { name: string; image: string; agentUser: Ids; sandboxId: string; labels: Record<string, string> },
): Promise<void> {
  const spec = ownerInitContainer(
    input.image,
    { name: input.name, path: ".", project: input.sandboxId },
    input.agentUser,
    input.labels,
    `${input.name}-init`,
    false,
  );
  const id = await engine.createContainer(spec);
  try {
    const lines: string[] = [];
    await engine.startContainer(id);
    await engine.followLogs(id, (line) => lines.push(line), AbortSignal.timeout(60_000));
    const state = await engine.containerState(id);
    if (state?.running || state?.exitCode !== 0) {
      throw new OcboxError(
        "SANDBOX_START",
        `could not give the workspace volume ${input.name} to the agent`,
        {
          detail: [`exit code ${state?.exitCode ?? "?"}`, ...lines.slice(-10)].join("\n"),
          fix: "Run the command again; `ocbox clean` removes leftovers.",
        },
      );
    }
  } finally {
    await engine.removeContainer(id).catch(() => undefined);
  }
}

/**
 * Why `labels` (the volume's, or undefined when there is none) are not those of `sandboxId`'s
 * copy-mode workspace volume; undefined when they are. Pure.
 *
 * The engine makes a missing volume, empty and unlabelled, when a container mounts its name: a
 * sync whose volume went away (`docker volume prune`, a `down` of another shell) would list an
 * empty tree and read it as the agent deleting every file. The sync checks the volume after its
 * listing helper ran, so a volume made by that very mount is caught too.
 */
export function foreignWorkspaceVolume(
  labels: Record<string, string> | undefined,
  sandboxId: string | undefined,
): string | undefined {
  if (labels === undefined) return "it no longer exists";
  if (labels[LABEL.managed] !== "true" || labels[LABEL.role] !== "workspace-copy")
    return "it is not an ocbox workspace volume (the engine made it empty, or someone else did)";
  if (sandboxId === undefined || labels[LABEL.sandbox] !== sandboxId)
    return `it belongs to sandbox ${labels[LABEL.sandbox] ?? "(none)"}, not ${sandboxId ?? "(none)"}`;
  return undefined;
}

/** Throws when `volume` is not `sandboxId`'s workspace volume (see foreignWorkspaceVolume). */
export async function assertOwnWorkspaceVolume(
  engine: Pick<Engine, "volumeLabels">,
  volume: string,
  sandboxId: string | undefined,
): Promise<void> {
  const why = foreignWorkspaceVolume(await engine.volumeLabels(volume), sandboxId);
  if (why === undefined) return;
  throw new OcboxError("UNEXPECTED", `the agent's workspace volume ${volume} cannot be trusted: ${why}`, {
    detail: "A sync from it would read every file as deleted by the agent.",
    fix:
      "Nothing on the host changed. If the sandbox is gone, its work is gone with it: " +
      "`ocbox down --discard` clears the record; otherwise run `ocbox sync` again.",
  });
}
