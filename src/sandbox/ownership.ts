/**
 * FEATURES A12, the workspace loan. When ocbox runs as root, the agent runs as an unprivileged
 * uid: the workspace is lent to it for the session (root's entries are re-owned to the agent uid)
 * and given back when the sandbox stops (the agent uid's entries, including every file it
 * created, are re-owned to root). Entries of other users are untouched.
 *
 * Why a descriptor walk (fd-tree.ts) and not a throwaway CAP_CHOWN container: the loan runs on
 * every task of the warm pool, twice, and a container start costs 0.3-0.5 s on this class of
 * machine while the walk costs a few syscalls per entry. The loan exists only where ocbox runs as
 * root beside a local engine (the workspace is a host dir either way), so the container's one
 * advantage, engines that share no files, does not apply. The walk never follows a name: a live
 * agent that swaps a dir for a symlink to `/` makes ocbox re-own the symlink itself, never what
 * it points at, and a tree that another live sandbox uses is not lent at all (shared-tree.ts).
 */
import { chownSync } from "node:fs";
import { join } from "node:path";
import { OcboxError, errorMessage } from "../errors.js";
import { MAX_DEPTH, closeFd, listDir, openDirPath, openEntry, procFd, statFd, yieldNow } from "./fd-tree.js";

export interface Ids {
  uid: number;
  gid: number;
}

export interface SwapReport {
  /** Entries whose owner changed. */
  changed: number;
  /** Entries that should have changed and did not, each "path: why". */
  failed: string[];
}

/**
 * Change the owner of every entry under `root` (root included) that is owned by `from.uid` to
 * `to`, through descriptors: links are re-owned themselves, never followed, and the walk stays on
 * root's filesystem. A failed change is reported, never counted as done.
 */
export async function swapOwner(root: string, from: Ids, to: Ids): Promise<SwapReport> {
  const top = openTop(root);
  const report: SwapReport = { changed: 0, failed: [] };
  let seen = 0;
  const dev = statFd(top).dev;
  const visit = async (fd: number, path: string, depth: number): Promise<void> => {
    const st = statFd(fd);
    if (st.dev !== dev) return;
    if (st.uid === from.uid) {
      try {
        // The magic link reaches the inode pinned by `fd`, a symlink included (it is not followed).
        chownSync(procFd(fd), to.uid, st.gid === from.gid ? to.gid : st.gid);
        report.changed++;
      } catch (e) {
        report.failed.push(`${path}: ${errorMessage(e)}`);
      }
    }
    if (!st.isDirectory()) return;
    if (depth >= MAX_DEPTH) {
      report.failed.push(`${path}: deeper than ${MAX_DEPTH} levels, not walked`);
      return;
    }
    let names: string[];
    try {
      names = listDir(fd);
    } catch (e) {
      report.failed.push(`${path}: cannot list: ${errorMessage(e)}`);
      return;
    }
    for (const name of names) {
      if (++seen % 512 === 0) await yieldNow();
      let child: number | undefined;
      try {
        child = openEntry(fd, name);
      } catch (e) {
        report.failed.push(`${join(path, name)}: ${errorMessage(e)}`);
      }
      if (child === undefined) continue;
      try {
        await visit(child, join(path, name), depth + 1);
      } finally {
        closeFd(child);
      }
    }
  };
  try {
    await visit(top, root, 0);
  } finally {
    closeFd(top);
  }
  return report;
}

function openTop(root: string): number {
  try {
    return openDirPath(root);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== "ENOTDIR" && code !== "ENOENT") throw e;
    throw new OcboxError(
      "OWNERSHIP",
      `${root} is ${code === "ENOENT" ? "missing" : "not a directory (a symlink?)"}`,
      {
        fix: "Give ocbox the real path of an existing directory; a link is never followed when changing owners.",
      },
    );
  }
}

export function needsOwnershipLoan(hostUser: Ids, agentUser: Ids): boolean {
  return hostUser.uid === 0 && agentUser.uid !== 0;
}

function checked(what: "lend" | "give back", root: string, report: SwapReport): SwapReport {
  if (report.failed.length === 0) return report;
  throw new OcboxError(
    "OWNERSHIP",
    `could not ${what} ${report.failed.length} entr${report.failed.length === 1 ? "y" : "ies"} of ${root}`,
    {
      detail: report.failed.slice(0, 20).join("\n"),
      fix:
        what === "lend"
          ? "Check that the workspace is on a local filesystem that allows chown, then start again."
          : `Give the listed entries back by hand (chown), or run \`ocbox clean\` to try again.`,
    },
  );
}

export const lendWorkspace = async (workspace: string, hostUser: Ids, agentUser: Ids) =>
  checked("lend", workspace, await swapOwner(workspace, hostUser, agentUser));

export const returnWorkspace = async (workspace: string, hostUser: Ids, agentUser: Ids) =>
  checked("give back", workspace, await swapOwner(workspace, agentUser, hostUser));

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
