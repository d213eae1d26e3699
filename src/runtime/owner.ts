import { readFileSync, readlinkSync } from "node:fs";
import { hostname } from "node:os";
import type { Liveness, Owner } from "./labels.js";

/** Field 22 of a /proc/PID/stat text (start time in clock ticks since boot); undefined if malformed. */
export function startFromStat(stat: string): string | undefined {
  // The command name (field 2) may contain spaces and parentheses: split after the last ")".
  const close = stat.lastIndexOf(")");
  if (close < 0) return undefined;
  const start = stat.slice(close + 2).split(" ")[19];
  return start !== undefined && /^\d+$/.test(start) ? start : undefined;
}

/** Whether /proc/PID/stat's state (field 3) is a zombie or a dead task: it ran to its end. Pure. */
export function exitedFromStat(stat: string): boolean {
  const close = stat.lastIndexOf(")");
  const state = close < 0 ? undefined : stat.slice(close + 2, close + 3);
  return state === "Z" || state === "X";
}

/** Start time of a process in clock ticks since boot (field 22 of /proc/PID/stat), or "" off Linux. */
export function processStart(pid: number): string | undefined {
  try {
    return startFromStat(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return undefined;
  }
}

/** This process's pid namespace (`pid:[N]`), or undefined off Linux. */
export function currentPidns(): string | undefined {
  try {
    return readlinkSync("/proc/self/ns/pid");
  } catch {
    return undefined;
  }
}

export function currentOwner(): Owner {
  const pidns = currentPidns();
  return {
    host: hostname(),
    pid: process.pid,
    start: processStart(process.pid) ?? "",
    ...(pidns ? { pidns } : {}),
  };
}

/** How liveness looks at processes; a seam for tests (a /proc entry that cannot be read). */
export interface ProcessProbe {
  platform: NodeJS.Platform;
  /** The text of /proc/PID/stat; throws as readFileSync does. */
  readStat(pid: number): string;
  /** Signal 0 to `pid`; throws as process.kill does (ESRCH: no such process, EPERM: not ours). */
  signal(pid: number): void;
  /** This process's pid namespace; undefined when unknown. */
  pidns?(): string | undefined;
}

const systemProbe: ProcessProbe = {
  platform: process.platform,
  readStat: (pid) => readFileSync(`/proc/${pid}/stat`, "utf8"),
  signal: (pid) => process.kill(pid, 0),
  pidns: currentPidns,
};

/** "dead" only when the process is known to be gone: ESRCH. A process we may not see is "unknown". */
function bySignal(probe: ProcessProbe, pid: number): Liveness {
  try {
    probe.signal(pid);
    return "alive";
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "ESRCH" ? "dead" : "unknown";
  }
}

/**
 * Is the owner process still there? "dead" only when it is known to be gone (no such pid, or the
 * pid now belongs to a process that started at another time). A /proc entry that cannot be read
 * (hidepid, EACCES) or parsed is "unknown", which the reaper never reaps: another user's live
 * sandbox must not be removed because its owner is hidden from us.
 */
export function ownerLiveness(owner: Owner, probe: ProcessProbe = systemProbe): Liveness {
  // Another pid namespace's pid says nothing about our processes (ocbox in a container).
  if (owner.pidns !== undefined && owner.pidns !== probe.pidns?.()) return "unknown";
  if (probe.platform !== "linux") return bySignal(probe, owner.pid);
  let stat: string;
  try {
    stat = probe.readStat(owner.pid);
  } catch (e) {
    // hidepid=2 hides other users' entries as ENOENT: ask the kernel whether the pid exists.
    if ((e as NodeJS.ErrnoException).code === "ENOENT") {
      const bySig = bySignal(probe, owner.pid);
      // A pid that exists but whose start time we cannot read may be a reused one: unknown.
      return bySig === "dead" ? "dead" : "unknown";
    }
    return "unknown";
  }
  const start = startFromStat(stat);
  if (start === undefined) return "unknown";
  if (owner.start !== "" && start !== owner.start) return "dead";
  // Killed and not yet waited for by its parent (a zombie), it keeps its /proc entry: it is dead.
  return exitedFromStat(stat) ? "dead" : "alive";
}
