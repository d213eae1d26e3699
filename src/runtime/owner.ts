import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import type { Liveness, Owner } from "./labels.js";

/** Start time of a process in clock ticks since boot (field 22 of /proc/PID/stat), or "" off Linux. */
export function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may contain spaces and parentheses: split after the last ")".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return fields[19] ?? "";
  } catch {
    return undefined;
  }
}

export function currentOwner(): Owner {
  return { host: hostname(), pid: process.pid, start: processStart(process.pid) ?? "" };
}

export function ownerLiveness(owner: Owner): Liveness {
  if (process.platform === "linux") {
    const start = processStart(owner.pid);
    if (start === undefined) return "dead";
    return owner.start === "" || start === owner.start ? "alive" : "dead";
  }
  try {
    process.kill(owner.pid, 0);
    return "alive";
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "ESRCH" ? "dead" : "unknown";
  }
}
