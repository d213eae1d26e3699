/**
 * Relays that outlive the CLI (issue 14): with the exec transport, a sandbox's host ports and
 * loopback model endpoints come back over the engine connection through this machine's process
 * (sandbox/reverse-relay.ts), so they would die with `ocbox up --detach`. Instead `up --detach`
 * leaves a small detached process of the user (`ocbox relay`, relay-process.ts) whose record
 * (relay-record.ts, 0600 in the state dir) holds its pid and the token of its control line;
 * `down` and `clean` stop it, `web` and `attach` start it again when it is gone, `ls` shows it.
 * The server relay needs no such process: every client (`web`, `attach`, runs) opens its own exec
 * streams to the server, for as long as it runs.
 */
import { spawn } from "node:child_process";
import { mkdirSync, openSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { connect } from "node:net";
import { join } from "node:path";
import { OcboxError } from "../errors.js";
import type { Engine } from "../runtime/engine.js";
import { packageRoot } from "../util/paths.js";
import { sandboxesRoot } from "../util/state-layout.js";
import { findProjectSandbox } from "./sandbox-list.js";
import {
  newRelayToken,
  readRelayRecord,
  removeRelayRecord,
  type RelayJob,
  type RelayRecord,
} from "./relay-record.js";

/** The environment variable that hands the job to `ocbox relay`. */
export const RELAY_JOB_ENV = "OCBOX_RELAY_JOB";

export type RelayState =
  | { state: "none" }
  | { state: "running"; pid: number; targets: number; runId: string }
  | { state: "gone"; pid: number; runId: string };

/** One line to the relay's control port; its JSON answer, or undefined when nothing answers. */
function ask(record: RelayRecord, command: "status" | "stop"): Promise<Record<string, unknown> | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port: record.port });
    let text = "";
    const done = (value: Record<string, unknown> | undefined) => {
      socket.destroy();
      resolve(value);
    };
    socket.setTimeout(3000, () => done(undefined));
    socket.setEncoding("utf8");
    socket.once("error", () => done(undefined));
    socket.once("connect", () => socket.write(`${record.token} ${command}\n`));
    socket.on("data", (chunk: string) => (text += chunk));
    socket.once("end", () => {
      try {
        const value = JSON.parse(text) as unknown;
        done(typeof value === "object" && value !== null ? (value as Record<string, unknown>) : undefined);
      } catch {
        // Not our relay's answer (something else took its port): nothing of ours answers there.
        done(undefined);
      }
    });
  });
}

/** Whether the relay of `stateDir` runs: its control line answers with its own pid. */
export async function relayState(stateDir: string): Promise<RelayState> {
  const record = await readRelayRecord(stateDir);
  if (!record) return { state: "none" };
  const answer = await ask(record, "status");
  if (answer?.pid === record.pid)
    return { state: "running", pid: record.pid, targets: record.targets.length, runId: record.runId };
  return { state: "gone", pid: record.pid, runId: record.runId };
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
};

/** Stop the relay of `stateDir` (by its control line, never by a pid alone) and drop its record. */
export async function stopRelay(stateDir: string): Promise<RelayState> {
  const record = await readRelayRecord(stateDir);
  if (!record) return { state: "none" };
  const answer = await ask(record, "stop");
  if (answer) {
    const deadline = Date.now() + 10_000;
    while (alive(record.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  }
  await removeRelayRecord(stateDir);
  return { state: "gone", pid: record.pid, runId: record.runId };
}

/**
 * Start the detached relay for `job` and wait until its record says it serves (its reverse
 * relays are up): then this process's own relays may end. Its output goes to logs/relay.log.
 */
export async function startDetachedRelay(
  stateDir: string,
  job: RelayJob,
  env: NodeJS.ProcessEnv = process.env,
): Promise<RelayState> {
  await stopRelay(stateDir);
  const logs = join(stateDir, "logs");
  mkdirSync(logs, { recursive: true, mode: 0o700 });
  const log = openSync(join(logs, "relay.log"), "a", 0o600);
  const token = newRelayToken();
  const child = spawn(process.execPath, [join(packageRoot(), "dist", "bin", "ocbox.js"), "relay"], {
    detached: true,
    stdio: ["ignore", log, log],
    env: { ...env, [RELAY_JOB_ENV]: JSON.stringify({ job, token, stateDir }), NO_COLOR: "1" },
  });
  let exited: number | null | undefined;
  child.once("exit", (code) => (exited = code));
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const record = await readRelayRecord(stateDir);
    if (record && record.pid === child.pid && record.token === token) {
      child.unref();
      return { state: "running", pid: record.pid, targets: record.targets.length, runId: record.runId };
    }
    if (exited !== undefined) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill();
  throw new OcboxError("SANDBOX_START", `the detached relay did not start (exit ${exited ?? "none yet"})`, {
    detail: `its log: ${join(logs, "relay.log")}`,
    fix: "Read the log; `ocbox web` or `ocbox attach` starts the relay again, `ocbox down` stops the sandbox.",
  });
}

/**
 * For `web` and `attach`: the relay of the running run `runId` (sidecar `egressId`), started
 * again from its record when it is gone. Nothing for a sandbox that never had one.
 */
export async function ensureRelay(
  stateDir: string,
  run: { runId: string; egressId?: string | undefined },
  env: NodeJS.ProcessEnv = process.env,
): Promise<RelayState & { restarted?: boolean }> {
  const now = await relayState(stateDir);
  if (now.state !== "gone" || now.runId !== run.runId || !run.egressId) return now;
  const record = await readRelayRecord(stateDir);
  if (!record) return { state: "none" };
  const { sandboxId, runId, targets } = record;
  const started = await startDetachedRelay(
    stateDir,
    { sandboxId, runId, targets, egressId: run.egressId },
    env,
  );
  return { ...started, restarted: true };
}

/** For `clean`: stop every relay whose run is no longer on the engine; the state dirs stopped. */
export async function reapRelays(engine: Engine, env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  const root = sandboxesRoot(env);
  const names = await readdir(root).catch((e: NodeJS.ErrnoException) => {
    if (e.code === "ENOENT") return [] as string[];
    throw e;
  });
  const stopped: string[] = [];
  for (const name of names) {
    const dir = join(root, name);
    const record = await readRelayRecord(dir);
    if (!record) continue;
    const row = await findProjectSandbox(engine, record.sandboxId);
    if (row?.runId === record.runId) continue;
    await stopRelay(dir);
    stopped.push(dir);
  }
  return stopped;
}
