/** The egress decisions of a running sandbox so far, read through the engine from its sidecar. */
import type { Decision } from "../egress/decisions.js";
import { peekEgress } from "../sandbox/egress-log.js";
import type { Engine } from "../runtime/engine.js";
import { LABEL } from "../runtime/labels.js";

export async function liveDecisions(engine: Engine, sandboxId: string, runId: string): Promise<Decision[]> {
  const containers = await engine.listContainers(
    [`${LABEL.managed}=true`, `${LABEL.sandbox}=${sandboxId}`, `${LABEL.run}=${runId}`],
    false,
  );
  const decisions: Decision[] = [];
  for (const c of containers) {
    const volume = c.labels[LABEL.egressVolume];
    if (volume) decisions.push(...(await peekEgress(engine, c.id, volume, c.labels[LABEL.egressControl])));
  }
  return decisions;
}
