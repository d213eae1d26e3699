/**
 * Copy mode's three-way decision (issue 14 item 2): what a sync of the agent's work back to the
 * host does with each path, from the base (what was copied in, or what the last sync left), the
 * host's tree now and the agent's tree now. Pure.
 *
 * - The agent left a path as it was in the base: nothing (a host edit stays).
 * - The agent changed it (edit, new, delete) and the host did not: the agent's change is applied.
 * - Both ended the same: nothing.
 * - Both changed it differently (a conflict, never resolved silently):
 *   - both edited: the host's file stays, the agent's is written beside it as
 *     `NAME.ocbox-conflict-<time>`;
 *   - the agent deleted what the host edited: the host's edit stays (an edit wins over a delete);
 *   - the host deleted what the agent edited: the agent's version is written back at NAME.
 *   Every conflict is listed.
 */

export type TreeEntry =
  /**
   * `stamp`: the file's change time and inode as the sync's listing saw it in the agent's volume
   * (workspace-listing.ts); the same stamp again means the same content (a write always changes
   * the change time, which no unprivileged process can set), so the next sync need not read it.
   * Not compared by sameEntry.
   */
  | { kind: "file"; size: number; hash: string; mode: number; stamp?: string }
  | { kind: "link"; target: string }
  | { kind: "dir" };

/** Relative path (with `/`, no leading `./`) → entry. */
export type Tree = ReadonlyMap<string, TreeEntry>;

export type SyncAction =
  { kind: "write"; path: string; as: string } | { kind: "delete"; path: string; dir: boolean };

export type ConflictKind = "both-edited" | "agent-deleted" | "host-deleted";

export interface SyncConflict {
  path: string;
  kind: ConflictKind;
  /** Where the agent's version went (both-edited: beside it; host-deleted: NAME itself). */
  agentCopy?: string;
}

export interface SyncDecision {
  actions: SyncAction[];
  conflicts: SyncConflict[];
}

/** Mode bits that matter for "changed": the ones the host keeps (x bits, mostly). */
const MODE_MASK = 0o755;

export function sameEntry(a: TreeEntry | undefined, b: TreeEntry | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.kind !== b.kind) return false;
  if (a.kind === "file" && b.kind === "file")
    return a.size === b.size && a.hash === b.hash && (a.mode & MODE_MASK) === (b.mode & MODE_MASK);
  if (a.kind === "link" && b.kind === "link") return a.target === b.target;
  return true;
}

/** The paths the agent changed against the base, parents before children. */
export function agentChanges(base: Tree, agent: Tree): string[] {
  const all = new Set([...base.keys(), ...agent.keys()]);
  return [...all].filter((p) => !sameEntry(base.get(p), agent.get(p))).sort();
}

/** `2026-12-01T13-55-01Z`: sortable, and a valid file name everywhere. */
export function conflictStamp(now: Date): string {
  return now
    .toISOString()
    .replace(/\.\d{3}Z$/, "Z")
    .replace(/:/g, "-");
}

export const conflictName = (path: string, stamp: string): string => `${path}.ocbox-conflict-${stamp}`;

/**
 * The decision for the paths in `changed` (see agentChanges); `host` must hold the host's entry
 * of each of them that exists. Deletions come deepest first, so a dir is removed after its files.
 */
export function decideSync(
  base: Tree,
  host: Tree,
  agent: Tree,
  changed: readonly string[],
  stamp: string,
): SyncDecision {
  const writes: SyncAction[] = [];
  const deletes: SyncAction[] = [];
  const conflicts: SyncConflict[] = [];
  for (const path of changed) {
    const b = base.get(path);
    const h = host.get(path);
    const a = agent.get(path);
    if (sameEntry(h, a)) continue;
    if (sameEntry(h, b)) {
      if (a === undefined) deletes.push({ kind: "delete", path, dir: b?.kind === "dir" });
      else if (!(a.kind === "dir" && h?.kind === "dir")) writes.push({ kind: "write", path, as: path });
      continue;
    }
    // Both changed it. Dirs are containers: what differs inside them is decided path by path.
    if (a?.kind === "dir" || (a === undefined && h?.kind === "dir")) {
      if (a?.kind === "dir" && h === undefined) writes.push({ kind: "write", path, as: path });
      continue;
    }
    if (a === undefined) conflicts.push({ path, kind: "agent-deleted" });
    else if (h === undefined) {
      writes.push({ kind: "write", path, as: path });
      conflicts.push({ path, kind: "host-deleted", agentCopy: path });
    } else {
      const as = conflictName(path, stamp);
      writes.push({ kind: "write", path, as });
      conflicts.push({ path, kind: "both-edited", agentCopy: as });
    }
  }
  deletes.sort((x, y) => (x.path < y.path ? 1 : x.path > y.path ? -1 : 0));
  return { actions: [...writes, ...deletes], conflicts };
}

/**
 * The base after a sync: the agent's tree, except the paths whose change did not reach the host
 * (left out by the caps, or not applied), which keep their old base so the next sync tries again.
 */
export function nextBase(base: Tree, agent: Tree, notApplied: ReadonlySet<string>): Map<string, TreeEntry> {
  const next = new Map(agent);
  for (const p of notApplied) {
    const b = base.get(p);
    if (b === undefined) next.delete(p);
    else next.set(p, b);
  }
  return next;
}
