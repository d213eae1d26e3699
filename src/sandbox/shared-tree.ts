/**
 * A workspace is lent to the agent uid only when no other live sandbox uses it (the host
 * boundary, SECURITY.md): another sandbox's agent could rewrite the tree while ocbox re-owns it,
 * and two loans of one tree give each other's files away. Sandboxes are found by their labels,
 * whoever started them; a tree overlaps another when one contains the other.
 */
import { OcboxError } from "../errors.js";
import type { ContainerSummary, Engine } from "../runtime/engine.js";
import { LABEL } from "../runtime/labels.js";

/** States in which a container can still write to its mounts (or soon will). */
const LIVE_STATES = new Set(["created", "running", "paused", "restarting"]);

function within(inner: string, outer: string): boolean {
  const o = outer.endsWith("/") ? outer : `${outer}/`;
  return inner === outer || inner.startsWith(o);
}

/** The live agent containers, other than sandbox `self` (sandbox/run), whose workspace overlaps `tree`. Pure. */
export function sandboxesOnTree(
  containers: readonly ContainerSummary[],
  tree: string,
  self: { sandboxId: string; runId: string },
): ContainerSummary[] {
  return containers.filter((c) => {
    const ws = c.labels[LABEL.workspace];
    if (!ws || c.labels[LABEL.role] !== "agent" || !LIVE_STATES.has(c.state)) return false;
    if (c.labels[LABEL.sandbox] === self.sandboxId && c.labels[LABEL.run] === self.runId) return false;
    return within(ws, tree) || within(tree, ws);
  });
}

/** Throws WORKSPACE_IN_USE when another live sandbox's agent uses `tree` or a dir inside or around it. */
export async function refuseSharedTree(
  engine: Engine,
  tree: string,
  self: { sandboxId: string; runId: string },
): Promise<void> {
  const all = await engine.listContainers([`${LABEL.managed}=true`, `${LABEL.role}=agent`], true);
  const others = sandboxesOnTree(all, tree, self);
  if (others.length === 0) return;
  throw new OcboxError(
    "WORKSPACE_IN_USE",
    `${tree} is in use by another sandbox, so it cannot be lent to the agent`,
    {
      detail: others
        .map((c) => `${c.name} (workspace ${c.labels[LABEL.workspace] ?? "?"}, ${c.state})`)
        .join("\n"),
      fix: "Wait for that sandbox to end (or stop it: `ocbox down`, `ocbox clean`), or give this task a copy of the tree.",
    },
  );
}
