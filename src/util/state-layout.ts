/**
 * Where a project sandbox keeps its state (FEATURES A3): one folder per sandbox id under the XDG
 * state home, never inside the project. Pure.
 *
 *   $XDG_STATE_HOME/ocbox/sandboxes/<SANDBOX_ID>/
 *     password        the server password (0600), stable across up/down
 *     home-local/     the agent's ~/.local (kept, and owned by the agent user); OpenCode's data dir
 *                     (sessions, snapshots) is home-local/share/opencode
 *     data-volume     which data volume (engine, creation time, owner) got the agent's dirs (0600)
 *     logs/           one log file per start
 *     egress.jsonl    the egress proxy's allow/deny decisions, one JSON line each (B6)
 *     approved.json   hashes of the pre-start hook and ocbox.yaml the person approved
 *     host-executed.json  the session's snapshot of the project's host-executed files (0600)
 *     project         the project's absolute path, for people reading the folder
 */
import { join } from "node:path";
import { stateHome } from "./paths.js";

export interface StateLayout {
  dir: string;
  password: string;
  /** Mounted at the agent's ~/.local, so every folder under it belongs to the agent user. */
  homeLocal: string;
  dataDir: string;
  /** The record of the data volume the agent's dirs were put in (sandbox/data-volume.ts). */
  dataVolumeRecord: string;
  logsDir: string;
  /** The egress decision log (JSONL), read by `ocbox egress log` and `ocbox egress suggest`. */
  egressLog: string;
  approved: string;
  /** The `up` session's snapshot of the project's host-executed files (project/session-edits.ts). */
  hostExecuted: string;
  project: string;
}

export function sandboxesRoot(env: NodeJS.ProcessEnv = process.env): string {
  return join(stateHome(env), "sandboxes");
}

export function stateLayout(sandboxId: string, env: NodeJS.ProcessEnv = process.env): StateLayout {
  const dir = join(sandboxesRoot(env), sandboxId);
  return {
    dir,
    password: join(dir, "password"),
    homeLocal: join(dir, "home-local"),
    dataDir: join(dir, "home-local", "share", "opencode"),
    dataVolumeRecord: join(dir, "data-volume"),
    logsDir: join(dir, "logs"),
    egressLog: join(dir, "egress.jsonl"),
    approved: join(dir, "approved.json"),
    hostExecuted: join(dir, "host-executed.json"),
    project: join(dir, "project"),
  };
}

/** A log file name for a start at `at`: sortable, no colons. */
export function logFileName(at: Date, runId: string): string {
  return `${at.toISOString().replace(/[:.]/g, "-")}-${runId}.log`;
}
