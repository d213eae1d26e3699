import { lchown, lstat, opendir } from "node:fs/promises";
import { join } from "node:path";

export interface Ids {
  uid: number;
  gid: number;
}

/**
 * Change the owner of every entry under `root` (root included) that is owned by `from.uid` to
 * `to`. Symlinks are changed, never followed, and the walk stays on root's filesystem.
 * Returns how many entries changed.
 */
export async function swapOwner(root: string, from: Ids, to: Ids): Promise<number> {
  const rootStat = await lstat(root);
  let changed = 0;
  const visit = async (path: string, dev: number): Promise<void> => {
    const st = await lstat(path).catch(() => undefined);
    if (!st || st.dev !== dev) return;
    if (st.uid === from.uid) {
      await lchown(path, to.uid, st.gid === from.gid ? to.gid : st.gid).catch(() => undefined);
      changed++;
    }
    if (!st.isDirectory()) return;
    const dir = await opendir(path).catch(() => undefined);
    if (!dir) return;
    for await (const entry of dir) await visit(join(path, entry.name), dev);
  };
  await visit(root, rootStat.dev);
  return changed;
}

/**
 * FEATURES A12. The agent never runs as root. When the host user is an ordinary user, the agent
 * runs with that uid:gid and files are theirs as written. When the host user is root, the agent
 * runs as an unprivileged uid: the workspace is lent to it for the session (root's entries are
 * re-owned to the agent uid) and given back when the sandbox stops (the agent uid's entries,
 * including every file it created, are re-owned to root). Entries of other users are untouched.
 */
export function needsOwnershipLoan(hostUser: Ids, agentUser: Ids): boolean {
  return hostUser.uid === 0 && agentUser.uid !== 0;
}

export const lendWorkspace = (workspace: string, hostUser: Ids, agentUser: Ids) =>
  swapOwner(workspace, hostUser, agentUser);

export const returnWorkspace = (workspace: string, hostUser: Ids, agentUser: Ids) =>
  swapOwner(workspace, agentUser, hostUser);

/** The loan as a label value, "AGENT_UID:GID>HOST_UID:GID", and back. */
export function loanLabel(agentUser: Ids, hostUser: Ids): string {
  return `${agentUser.uid}:${agentUser.gid}>${hostUser.uid}:${hostUser.gid}`;
}

export function parseLoan(label: string | undefined): { agentUser: Ids; hostUser: Ids } | undefined {
  const m = /^(\d+):(\d+)>(\d+):(\d+)$/.exec(label ?? "");
  if (!m) return undefined;
  const [, au, ag, hu, hg] = m.map(Number) as [number, number, number, number, number];
  return { agentUser: { uid: au, gid: ag }, hostUser: { uid: hu, gid: hg } };
}
