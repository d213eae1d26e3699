// CPU time for the benchmarks, on a shared machine where wall time lies: the host's children
// (bare `opencode run`s) from this process's rusage, and sandbox containers from their cgroup.
import { readFileSync } from "node:fs";

const TICK = 100; // USER_HZ on Linux

/** CPU seconds of this process's waited-for children (`/proc/self/stat` cutime + cstime). */
export function childCpuS() {
  const stat = readFileSync("/proc/self/stat", "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[13]) + Number(fields[14])) / TICK;
}

/** A container's CPU seconds so far, from cgroup v1 (cgroupfs) or v2; undefined when not found. */
export function cgroupCpuS(id) {
  const tries = [
    [`/sys/fs/cgroup/cpuacct/docker/${id}/cpuacct.usage`, (t) => Number(t) / 1e9],
    [
      `/sys/fs/cgroup/system.slice/docker-${id}.scope/cpu.stat`,
      (t) => Number(/usage_usec (\d+)/.exec(t)?.[1]) / 1e6,
    ],
  ];
  for (const [file, parse] of tries) {
    try {
      return parse(readFileSync(file, "utf8"));
    } catch {
      // not this layout
    }
  }
  return undefined;
}

/** A running process's own CPU seconds so far (`/proc/PID/stat` utime + stime), threads included. */
export function processCpuS(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / TICK;
}

/**
 * Sample the CPU of every container this process owns (its owner-pid label) every `everyMs`
 * until `stop()`, which resolves with their summed CPU seconds. A container's last sample is
 * taken up to `everyMs` before it is removed: the figure is a lower bound by that much.
 * `byRole()` splits the sum by the containers' role label (agent, egress sidecar, …).
 */
export function containerCpu(engine, everyMs = 100) {
  const seen = new Map();
  const roles = new Map();
  let ids = [];
  let listing = false;
  const list = async () => {
    if (listing) return;
    listing = true;
    try {
      const found = await engine.listContainers([`dev.ocbox.owner.pid=${process.pid}`], true);
      ids = found.map((c) => c.id);
      for (const c of found) roles.set(c.id, c.labels["dev.ocbox.role"] ?? "other");
    } finally {
      listing = false;
    }
  };
  const sample = () => {
    for (const id of ids) {
      const s = cgroupCpuS(id);
      if (s !== undefined) seen.set(id, Math.max(seen.get(id) ?? 0, s));
    }
  };
  const timer = setInterval(sample, everyMs);
  const lister = setInterval(() => void list().catch(() => undefined), 500);
  void list().catch(() => undefined);
  return {
    async stop() {
      clearInterval(timer);
      clearInterval(lister);
      sample();
      return [...seen.values()].reduce((a, b) => a + b, 0);
    },
    /** CPU seconds by the containers' role label (agent, egress, …), after `stop()`. */
    byRole() {
      const out = {};
      for (const [id, s] of seen) out[roles.get(id)] = (out[roles.get(id)] ?? 0) + s;
      return out;
    },
  };
}

/**
 * The whole machine's busy CPU seconds so far (`/proc/stat`: user, nice, system, irq, softirq,
 * steal; idle and iowait left out), all cores summed. Over a window it counts what the per-process
 * figures miss: the engine's daemons (dockerd, containerd, the shims, runc) and the kernel's work
 * for them. On a machine with nothing else running, busy ÷ (wall × cores) says how saturated the
 * cores were, and busy ÷ cores is the floor the pattern's own work sets.
 */
export function machineCpuS() {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0];
  const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  return (user + nice + system + irq + softirq + (steal ?? 0)) / TICK;
}
