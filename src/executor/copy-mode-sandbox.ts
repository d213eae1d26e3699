/**
 * A task's sandbox in copy mode (issue 14 item 2): the workspace was copied in at the start
 * (sandbox/start.ts); when the task ends the agent is stopped, its work synced back three ways
 * (sandbox/workspace-copy-sync.ts: the hardened copy-back, host edits made meanwhile never
 * overwritten), then the sandbox and its workspace volume are removed. A failed sync keeps the
 * volume and says so.
 */
import { errorMessage } from "../errors.js";
import type { Engine } from "../runtime/engine.js";
import { DEFAULT_COPY_BACK_CAPS, type CopyBackCaps } from "../sandbox/copy-back-policy.js";
import type { StartedSandbox } from "../sandbox/start.js";
import { syncWorkspaceBack } from "../sandbox/workspace-copy-sync.js";
import type { SyncBack } from "./sync-back.js";

export async function finishCopyMode(
  engine: Engine,
  sandbox: StartedSandbox,
  caps: CopyBackCaps = DEFAULT_COPY_BACK_CAPS,
  onLine?: (line: string) => void,
): Promise<SyncBack> {
  const { spec } = sandbox;
  const kept = `the engine volume ${sandbox.names.workspaceVolume} (until \`ocbox clean\`)`;
  try {
    await engine.stopContainer(sandbox.agentId, 10);
  } catch (e) {
    await sandbox.stop();
    return { kind: "failed", step: "stop", error: errorMessage(e), kept: "nowhere: the sandbox was removed" };
  }
  try {
    // The helpers read the stopped agent's volume; files over the cap are left out, never streamed.
    const sync = await syncWorkspaceBack(
      engine,
      {
        image: spec.images.sandbox,
        volume: sandbox.names.workspaceVolume,
        labels: sandbox.labels("workspace-copy"),
      },
      spec.workspace,
      sandbox.copyIn?.base ?? new Map(),
      { caps, exclude: spec.workspaceCopy?.exclude ?? [] },
    );
    onLine?.(
      `copy mode: synced back ${sync.report.copied} entries, removed ${sync.report.removed}, ` +
        `${sync.conflicts.length} conflicts in ${(sync.ms / 1000).toFixed(1)} s`,
    );
    await sandbox.stop();
    return { kind: "synced", report: sync.report, caps, conflicts: sync.conflicts };
  } catch (e) {
    sandbox.keepWorkspaceVolume();
    await sandbox.stop().catch(() => undefined);
    return { kind: "failed", step: "copy", error: errorMessage(e), kept };
  }
}
