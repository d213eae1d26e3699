/**
 * Stopping a project sandbox that any ocbox process started (`ocbox down`): everything is found
 * from the labels, so a detached sandbox is stopped as cleanly as a foreground one. The agent's
 * last log lines are kept in the state dir; the state itself stays.
 */
import { appendFile } from "node:fs/promises";
import { join } from "node:path";
import { OcboxError, errorMessage } from "../errors.js";
import type { Engine } from "../runtime/engine.js";
import { LABEL } from "../runtime/labels.js";
import { reap } from "../sandbox/reaper.js";
import { partsFromLabels, tearDown } from "../sandbox/teardown.js";
import { hostExecutedWarnings, type HostExecutedEdit } from "../sandbox/host-executed-edits.js";
import { endSession } from "./session-edits.js";
import { stopRelay } from "./detached-relay.js";
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
}

export async function downProject(
  engine: Engine,
  sandboxId: string,
  state: StateLayout,
): Promise<DownReport> {
  const containers = await engine.listContainers(
    [`${LABEL.managed}=true`, `${LABEL.sandbox}=${sandboxId}`],
    true,
  );
  const report: DownReport = { sandboxId, removed: [] };
  const failures: string[] = [];
  // The detached relay first (it would see its sidecar go and end by itself, seconds later).
  await stopRelay(state.dir).catch((e) => void failures.push(`relay: ${errorMessage(e)}`));
  for (const c of containers) {
    if (c.labels[LABEL.role] !== "agent") continue;
    const text = await engine
      .logsTail(c.id, 2000)
      .catch((e) => void failures.push(`log of ${c.name}: ${errorMessage(e)}`));
    if (text) {
      const file = join(state.logsDir, logFileName(new Date(), c.labels[LABEL.run] ?? "run"));
      await appendFile(file, text, { mode: 0o600 }).catch(
        (e) => void failures.push(`${file}: ${errorMessage(e)}`),
      );
      report.log = file;
    }
  }
  const volumes = await engine.listVolumes([`${LABEL.managed}=true`, `${LABEL.sandbox}=${sandboxId}`]);
  // The proxy's decisions go to the state dir before its staged dir goes (B6).
  const torn = await tearDown(engine, partsFromLabels(containers, volumes, process.getuid?.()), {
    agentStopS: 10,
    otherStopS: 10,
    decisionLog: state.egressLog,
  });
  report.removed = torn.containers;
  if (torn.egressDecisions > 0) report.egressDecisions = torn.egressDecisions;
  failures.push(...torn.errors, ...torn.kept);
  // What the sandbox's creator would have removed on stop (its other staged dirs) is now an orphan.
  const reaped = await reap(engine);
  failures.push(...reaped.errors);
  // The agent is gone and the workspace given back: what did it leave for the host to run?
  const edits = await endSession(state).catch(
    (e) => void failures.push(`host-executed files: ${errorMessage(e)}`),
  );
  if (edits) report.hostExecutedEdits = edits;
  if (failures.length > 0) {
    throw new OcboxError("ENGINE", "some of the sandbox's resources could not be removed", {
      detail: [...failures, ...hostExecutedWarnings(edits ?? [])].join("\n"),
      fix: "Run `ocbox clean` to remove leftovers.",
    });
  }
  return report;
}
