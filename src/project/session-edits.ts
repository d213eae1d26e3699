/**
 * The host-executed files of a project (sandbox/host-executed-edits.ts) around one `ocbox up`
 * session: snapshotted into the state dir before the sandbox starts (a path the agent cannot
 * write), compared when the session ends (`ocbox down`, or the end of a foreground `up`).
 */
import { readFile, rm, writeFile } from "node:fs/promises";
import { z } from "zod";
import { hostExecutedEdits, type HostExecutedEdit } from "../sandbox/host-executed-edits.js";
import { snapshotHostExecuted } from "../sandbox/host-executed-snapshot.js";
import type { StateLayout } from "../util/state-layout.js";

const savedSchema = z.object({
  root: z.string(),
  hookPath: z.string(),
  snapshot: z.object({
    files: z.record(z.string(), z.string()),
    packageScripts: z.record(z.string(), z.string()).nullable(),
  }),
});

/** Before the sandbox starts: the project's host-executed files, into the state dir (0600). */
export async function beginSession(state: StateLayout, root: string, hookPath: string): Promise<void> {
  const snapshot = await snapshotHostExecuted(root, hookPath);
  await writeFile(state.hostExecuted, JSON.stringify({ root, hookPath, snapshot }), { mode: 0o600 });
}

/**
 * When the session ends: the agent's edits since `beginSession`, and the snapshot removed.
 * Undefined when no session snapshot exists (another `down` took it, or an older ocbox started it).
 */
export async function endSession(state: StateLayout): Promise<HostExecutedEdit[] | undefined> {
  const text = await readFile(state.hostExecuted, "utf8").catch((e: NodeJS.ErrnoException) => {
    if (e.code === "ENOENT") return undefined;
    throw e;
  });
  if (text === undefined) return undefined;
  await rm(state.hostExecuted, { force: true });
  const saved = savedSchema.safeParse(JSON.parse(text));
  if (!saved.success) return undefined;
  const { root, hookPath, snapshot } = saved.data;
  return hostExecutedEdits(snapshot, await snapshotHostExecuted(root, hookPath), hookPath);
}
