/**
 * Stopping a project sandbox that any ocbox process started (`ocbox down`): everything is found
 * from the labels, so a detached sandbox is stopped as cleanly as a foreground one. The agent's
 * last log lines are kept in the state dir; the state itself stays.
 */
import { appendFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { OcboxError, errorMessage } from "../errors.js";
import type { ContainerSummary, Engine } from "../runtime/engine.js";
import { LABEL } from "../runtime/labels.js";
import { reap } from "../sandbox/reaper.js";
import { partsFromLabels, tearDown } from "../sandbox/teardown.js";
import { hostExecutedWarnings, type HostExecutedEdit } from "../sandbox/host-executed-edits.js";
import { endSession } from "./session-edits.js";
import { stopRelay } from "./detached-relay.js";
import type { StartedSandbox } from "../sandbox/start.js";
import { readCopyBase, removeCopyBase, type CopyBase } from "./copy-base.js";
import { syncProject, type SyncResult } from "./sync.js";
import { logFileName, type StateLayout } from "../util/state-layout.js";

export interface DownReport {
  sandboxId: string;
  /** Names of the removed containers. */
  removed: string[];
  /** Where the agent's log was saved, if it was running. */
  log?: string;
  /** Egress decisions moved into the state dir's decision log (egress.jsonl). */
  egressDecisions?: number;
  /** The agent's edits to files the host runs later, since the session began (session-edits.ts). */
  hostExecutedEdits?: HostExecutedEdit[];
  /** Copy mode: the sync that ran before the volume went (`ocbox sync`'s result). */
  sync?: SyncResult;
  /** Copy mode: the volume was kept, because the sync failed or left files out: where, why, how to retry. */
  kept?: KeptCopy;
  /** `discard`: the agent's copy removed unsynced. */
  discarded?: string;
}

export interface KeptCopy {
  volume: string;
  reason: string;
  fix: string;
}

export interface DownOptions {
  /** `--discard`: remove a copy-mode volume without syncing it (its work is lost). */
  discard?: boolean;
}

/** Whether down keeps the copy: a failed sync, or files it left out (too large, FIFOs). Pure. */
export function keepCopy(volume: string, sync: SyncResult | { error: string }): KeptCopy | undefined {
  const retry = "`ocbox sync` tries again (no sandbox needed), then `ocbox down` removes the volume";
  if ("error" in sync)
    return {
      volume,
      reason: `the sync failed: ${sync.error}`,
      fix: `${retry}; \`ocbox down --discard\` drops it.`,
    };
  if (sync.skipped.length === 0) return undefined;
  const what = sync.skipped.map((l) => `${l.path} (${l.reason})`).join(", ");
  return {
    volume,
    reason: `the sync left out ${what}`,
    fix: `They are still in the volume: mount it read-only in a container to copy them, then \`ocbox down --discard\` drops it (${retry}).`,
  };
}

/** Copy mode: stop the agent (its last writes count), sync, and say whether the volume must stay. */
async function syncBeforeDown(
  engine: Engine,
  state: StateLayout,
  agents: ReadonlyArray<Pick<ContainerSummary, "id">>,
  record: CopyBase,
): Promise<{ sync?: SyncResult; kept?: KeptCopy }> {
  try {
    for (const a of agents) await engine.stopContainer(a.id, 10);
    const sync = await syncProject(engine, { state });
    const kept = keepCopy(record.volume, sync);
    return { sync, ...(kept ? { kept } : {}) };
  } catch (e) {
    return { kept: keepCopy(record.volume, { error: errorMessage(e) }) as KeptCopy };
  }
}

/**
 * The end of a foreground `ocbox up` in copy mode (Ctrl+C, or the sandbox's end): stop the agent,
 * sync, then stop the sandbox; a failed or partial sync keeps the volume (and its record), as `down`.
 */
export async function stopUpSandbox(
  engine: Engine,
  sandbox: StartedSandbox,
  state: StateLayout,
): Promise<Pick<DownReport, "sync" | "kept">> {
  const record = sandbox.spec.workspaceCopy ? await readCopyBase(state) : undefined;
  if (!record || record.volume !== sandbox.names.workspaceVolume) {
    await sandbox.stop();
    return {};
  }
  const done = await syncBeforeDown(engine, state, [{ id: sandbox.agentId }], record);
  if (done.kept) sandbox.keepWorkspaceVolume();
  await sandbox.stop();
  if (!done.kept) await removeCopyBase(state);
  return done;
}

/** Remove the copy's volume; false (the failure noted) when it stays. */
async function removeCopy(engine: Engine, volume: string, failures: string[]): Promise<boolean> {
  if (!(await engine.volumeExists(volume))) return true;
  try {
    await engine.removeVolume(volume);
    return true;
  } catch (e) {
    failures.push(`volume ${volume}: ${errorMessage(e)}`);
    return false;
  }
}

export async function downProject(
  engine: Engine,
  sandboxId: string,
  state: StateLayout,
  options: DownOptions = {},
): Promise<DownReport> {
  const containers = await engine.listContainers(
    [`${LABEL.managed}=true`, `${LABEL.sandbox}=${sandboxId}`],
    true,
  );
  const report: DownReport = { sandboxId, removed: [] };
  // What could not be removed, and apart from it what else of the ending was not done (the relay's
  // stop, the kept log, the host-executed check): each is reported as what it is.
  const failures: string[] = [];
  const notDone: string[] = [];
  // The detached relay first (it would see its sidecar go and end by itself, seconds later).
  await stopRelay(state.dir).catch((e) => void notDone.push(`relay: ${errorMessage(e)}`));
  for (const c of containers) {
    if (c.labels[LABEL.role] !== "agent") continue;
    const text = await engine
      .logsTail(c.id, 2000)
      .catch((e) => void notDone.push(`log of ${c.name}: ${errorMessage(e)}`));
    if (text) {
      const file = join(state.logsDir, logFileName(new Date(), c.labels[LABEL.run] ?? "run"));
      // The logs dir may not be there: another XDG_STATE_HOME than `up`'s, or a state dir removed.
      const kept = await mkdir(state.logsDir, { recursive: true, mode: 0o700 })
        .then(() => appendFile(file, text, { mode: 0o600 }))
        .then(
          () => true,
          (e) => void notDone.push(`the agent's log was not kept in ${file}: ${errorMessage(e)}`),
        );
      if (kept) report.log = file;
    }
  }
  const record = await readCopyBase(state);
  if (record && !options.discard) {
    const agents = containers.filter((c) => c.labels[LABEL.role] === "agent");
    Object.assign(report, await syncBeforeDown(engine, state, agents, record));
  }
  // The copy goes only after its sync, by name, once no container mounts it.
  const volumes = (
    await engine.listVolumes([`${LABEL.managed}=true`, `${LABEL.sandbox}=${sandboxId}`])
  ).filter((v) => v.name !== record?.volume);
  // The proxy's decisions go to the state dir before its staged dir goes (B6).
  const torn = await tearDown(engine, partsFromLabels(containers, volumes, process.getuid?.()), {
    agentStopS: 10,
    otherStopS: 10,
    decisionLog: state.egressLog,
  });
  report.removed = torn.containers;
  if (record && !report.kept && (await removeCopy(engine, record.volume, failures))) {
    await removeCopyBase(state);
    if (options.discard) report.discarded = record.volume;
  }
  if (torn.egressDecisions > 0) report.egressDecisions = torn.egressDecisions;
  failures.push(...torn.errors, ...torn.kept);
  // What the sandbox's creator would have removed on stop (its other staged dirs) is now an orphan.
  const reaped = await reap(engine);
  failures.push(...reaped.errors);
  // The agent is gone and the workspace given back: what did it leave for the host to run?
  const edits = await endSession(state).catch(
    (e) => void notDone.push(`the check of host-executed files failed: ${errorMessage(e)}`),
  );
  if (edits) report.hostExecutedEdits = edits;
  if (failures.length > 0) {
    throw new OcboxError("ENGINE", "some of the sandbox's resources could not be removed", {
      detail: [...failures, ...notDone, ...hostExecutedWarnings(edits ?? [])].join("\n"),
      fix: "Run `ocbox clean` to remove leftovers.",
    });
  }
  if (notDone.length > 0) {
    throw new OcboxError(
      "UNEXPECTED",
      "the sandbox is down and removed, but not all of its ending was done",
      {
        detail: [...notDone, ...hostExecutedWarnings(edits ?? [])].join("\n"),
        fix: "Read what failed above; nothing of the sandbox is left in the engine.",
      },
    );
  }
  return report;
}
