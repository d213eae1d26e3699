/**
 * The periodic security summary (FEATURES G1): listeners (unexpected ones named), egress
 * denials per host from the decision log, and resource peaks over the period. Pure.
 */
import type { Decision } from "../egress/decisions.js";
import type { ListenerScan } from "./listeners.js";
import type { ResourceSnapshot } from "./resources.js";

export interface SecuritySummary {
  time: string;
  /** Start of the period (ISO). */
  since: string;
  listeners: { total: number; unexpected: Array<{ address: string; port: number; command?: string }> };
  egress: { allowed: number; denied: number; deniedHosts: Array<{ host: string; count: number }> };
  peaks: { cpuPercent: number; memoryBytes: number; pids: number; openFiles: number | null };
  /** "ok", or what needs a look. */
  verdict: "ok" | "attention";
}

export function securitySummary(input: {
  since: Date;
  now: Date;
  lastScan: ListenerScan | undefined;
  snapshots: readonly ResourceSnapshot[];
  decisions: readonly Decision[];
}): SecuritySummary {
  const inPeriod = input.decisions.filter((d) => Date.parse(d.time) >= input.since.getTime());
  const denied = new Map<string, number>();
  for (const d of inPeriod) if (d.decision === "deny") denied.set(d.host, (denied.get(d.host) ?? 0) + 1);
  const unexpected = (input.lastScan?.listeners ?? [])
    .filter((l) => !l.expected)
    .map((l) => ({ address: l.address, port: l.port, ...(l.command ? { command: l.command } : {}) }));
  const files = input.snapshots.map((s) => s.openFiles).filter((n): n is number => n !== null);
  const deniedCount = [...denied.values()].reduce((a, b) => a + b, 0);
  return {
    time: input.now.toISOString(),
    since: input.since.toISOString(),
    listeners: { total: input.lastScan?.listeners.length ?? 0, unexpected },
    egress: {
      allowed: inPeriod.length - deniedCount,
      denied: deniedCount,
      deniedHosts: [...denied].map(([host, count]) => ({ host, count })).sort((a, b) => b.count - a.count),
    },
    peaks: {
      cpuPercent: Math.max(0, ...input.snapshots.map((s) => s.cpuPercent)),
      memoryBytes: Math.max(0, ...input.snapshots.map((s) => s.memoryBytes)),
      pids: Math.max(0, ...input.snapshots.map((s) => s.pids)),
      openFiles: files.length ? Math.max(...files) : null,
    },
    verdict: unexpected.length > 0 || deniedCount > 0 ? "attention" : "ok",
  };
}
