/**
 * Resource snapshots (FEATURES G1): CPU, memory and process count from the engine's stats API,
 * the processes from its top API, and open files counted in /proc on the host.
 */
import { readdir } from "node:fs/promises";
import type { Engine } from "../runtime/engine.js";

export interface ResourceSnapshot {
  time: string;
  cpuPercent: number;
  memoryBytes: number;
  memoryLimitBytes: number;
  pids: number;
  /** Open file descriptors over all processes; null when /proc is not readable from here. */
  openFiles: number | null;
  /** The heaviest commands by count, e.g. {"opencode serve": 1, "socat": 3}. */
  processes: Record<string, number>;
}

/** "/usr/bin/socat -lf /dev/null …" → "socat". Pure. */
export function commandName(command: string): string {
  const argv0 = command.trim().split(/\s+/)[0] ?? "";
  return argv0.slice(argv0.lastIndexOf("/") + 1) || "?";
}

/** One snapshot, or undefined when the container is not running. */
export async function snapshotResources(
  engine: Engine,
  agentId: string,
  now: Date = new Date(),
): Promise<ResourceSnapshot | undefined> {
  const stats = await engine.stats(agentId);
  if (!stats) return undefined;
  const processes = await engine.top(agentId);
  const byName: Record<string, number> = {};
  for (const p of processes) byName[commandName(p.command)] = (byName[commandName(p.command)] ?? 0) + 1;
  let openFiles: number | null = 0;
  for (const p of processes) {
    const fds = await readdir(`/proc/${p.pid}/fd`).catch(() => undefined);
    if (fds === undefined) {
      openFiles = null;
      break;
    }
    openFiles += fds.length;
  }
  return {
    time: now.toISOString(),
    cpuPercent: Math.round(stats.cpuPercent * 100) / 100,
    memoryBytes: stats.memoryBytes,
    memoryLimitBytes: stats.memoryLimitBytes,
    pids: stats.pids,
    openFiles: processes.length ? openFiles : null,
    processes: byName,
  };
}
