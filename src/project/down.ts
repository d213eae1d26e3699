/**
 * Stopping a project sandbox that any ocbox process started (`ocbox down`): everything is found
 * from the labels, so a detached sandbox is stopped as cleanly as a foreground one. The agent's
 * last log lines are kept in the state dir; the state itself stays.
 */
import { appendFile } from "node:fs/promises";
import { join } from "node:path";
import { OcboxError, errorMessage } from "../errors.js";
import { removeEgressControl } from "../egress/control.js";
import { collectEgressDir } from "../egress/sidecar.js";
import type { Engine } from "../runtime/engine.js";
import { LABEL } from "../runtime/labels.js";
import { reap } from "../sandbox/reaper.js";
import { parseLoan, returnWorkspace } from "../sandbox/ownership.js";
import { removeRunDir } from "../sandbox/run-dir.js";
import { hostExecutedWarnings, type HostExecutedEdit } from "../sandbox/host-executed-edits.js";
import { endSession } from "./session-edits.js";
import { logFileName, type StateLayout } from "./state-layout.js";

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
  // Agents first: the sidecar relays for them until they are gone.
  const ordered = [...containers].sort(
    (a, b) => Number(b.labels[LABEL.role] === "agent") - Number(a.labels[LABEL.role] === "agent"),
  );
  for (const c of ordered) {
    try {
      if (c.labels[LABEL.role] === "agent") {
        const text = await engine.logsTail(c.id, 2000);
        if (text) {
          const file = join(state.logsDir, logFileName(new Date(), c.labels[LABEL.run] ?? "run"));
          await appendFile(file, text, { mode: 0o600 }).catch(() => undefined);
          report.log = file;
        }
      }
      await engine.stopContainer(c.id, 10);
      await engine.removeContainer(c.id);
      report.removed.push(c.name);
    } catch (e) {
      failures.push(`container ${c.name}: ${errorMessage(e)}`);
      continue;
    }
    // The proxy has stopped: its decisions go to the state dir before its staged dir goes (B6).
    const egressDir = c.labels[LABEL.egressDir];
    if (egressDir) {
      const control = c.labels[LABEL.egressControl];
      await collectEgressDir(egressDir, control, state.egressLog)
        .then((d) => (report.egressDecisions = (report.egressDecisions ?? 0) + d.length))
        .catch((e) => failures.push(`egress decisions of ${c.name}: ${errorMessage(e)}`));
      await removeRunDir(egressDir).catch((e) => failures.push(`${egressDir}: ${errorMessage(e)}`));
      if (control)
        await removeEgressControl(control).catch((e) => failures.push(`${control}: ${errorMessage(e)}`));
    }
    const runDir = c.labels[LABEL.runDir];
    if (runDir) await removeRunDir(runDir).catch((e) => failures.push(`${runDir}: ${errorMessage(e)}`));
    const loan = parseLoan(c.labels[LABEL.loan]);
    const workspace = c.labels[LABEL.workspace];
    if (c.labels[LABEL.role] === "agent" && loan && workspace) {
      await returnWorkspace(workspace, loan.hostUser, loan.agentUser).catch((e) =>
        failures.push(`give back ${workspace}: ${errorMessage(e)}`),
      );
    }
  }
  const runs = new Set(containers.map((c) => c.labels[LABEL.run]));
  for (const v of await engine.listVolumes([`${LABEL.managed}=true`, `${LABEL.sandbox}=${sandboxId}`])) {
    if (!runs.has(v.labels[LABEL.run])) continue;
    await engine.removeVolume(v.name).catch((e) => failures.push(`volume ${v.name}: ${errorMessage(e)}`));
  }
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
