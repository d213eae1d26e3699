/** The egress decisions of a running sandbox so far, read from its sidecar's staged log. */
import type { Decision } from "../egress/decisions.js";
import { peekEgressDir } from "../sandbox/egress-sidecar.js";
import type { Engine } from "../runtime/engine.js";
import { LABEL } from "../runtime/labels.js";

export async function liveDecisions(engine: Engine, sandboxId: string, runId: string): Promise<Decision[]> {
  const containers = await engine.listContainers(
    [`${LABEL.managed}=true`, `${LABEL.sandbox}=${sandboxId}`, `${LABEL.run}=${runId}`],
    false,
  );
  const decisions: Decision[] = [];
  for (const c of containers) {
    const dir = c.labels[LABEL.egressDir];
    if (dir) decisions.push(...(await peekEgressDir(dir, c.labels[LABEL.egressControl])));
  }
  return decisions;
}
