/**
 * Copy mode's workspace volume (issue 14 item 2): a volume of one container, removed with it, whose
 * root is given to the agent by the same one-shot chown container as the cache volumes' (a fresh
 * volume's root is the engine's and the archive API cannot change it), then filled with the
 * workspace (workspace-copy-in.ts) once the agent container exists.
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

export async function prepareWorkspaceVolume(
  engine: Engine,
  input: { name: string; image: string; agentUser: Ids; sandboxId: string; labels: Record<string, string> },
): Promise<void> {
  await engine.createVolume(input.name, input.labels, {});
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
