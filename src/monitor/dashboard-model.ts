/**
 * What the dashboard shows for each running sandbox (FEATURES G2), as plain data: state, uptime,
 * CPU and memory over time, egress decisions per host, listeners and the last agent activity.
 * Only aggregate numbers, host names, ports and process names: never an env value, a password, a
 * prompt or a command line's arguments. Pure.
 */
import type { HostSummary } from "../egress/decisions.js";
import type { SandboxRow } from "../project/sandbox-list.js";
import type { SeenListener } from "./listeners.js";
import { commandName } from "./resources.js";

export interface Sample {
  /** ms since the epoch */
  t: number;
  cpu: number;
  memMb: number;
}

export interface SandboxView {
  sandboxId: string;
  runId: string;
  project: string;
  url: string;
  state: string;
  lifetime: string;
  startedAt: string;
  uptimeS: number;
  memLimitMb: number | null;
  samples: Sample[];
  egress: Array<Pick<HostSummary, "host" | "allowed" | "denied" | "ports">>;
  listeners: Array<{ address: string; port: number; process: string | null; expected: boolean }> | null;
  /** Why listeners could not be read, if so. */
  listenersError: string | null;
  /** ISO time of the newest session update, or null when unknown. */
  lastActivity: string | null;
  sessions: number | null;
}

export interface DashboardSnapshot {
  time: string;
  sandboxes: SandboxView[];
}

/** Keep the newest `max` samples, appending one. Pure. */
export function pushSample(samples: readonly Sample[], sample: Sample, max: number): Sample[] {
  return [...samples, sample].slice(-max);
}

export function sandboxView(input: {
  row: SandboxRow;
  samples: readonly Sample[];
  memLimitBytes: number | undefined;
  egress: readonly HostSummary[];
  listeners: readonly SeenListener[] | undefined;
  listenersError: string | undefined;
  activity: { lastActivity: string | null; sessions: number | null };
}): SandboxView {
  const { row } = input;
  return {
    sandboxId: row.sandboxId,
    runId: row.runId,
    project: row.project,
    url: row.url,
    state: row.state,
    lifetime: row.lifetime,
    startedAt: row.startedAt,
    uptimeS: row.uptimeS,
    memLimitMb: input.memLimitBytes ? Math.round(input.memLimitBytes / 1048576) : null,
    samples: [...input.samples],
    egress: input.egress.map((h) => ({ host: h.host, allowed: h.allowed, denied: h.denied, ports: h.ports })),
    listeners: input.listeners
      ? input.listeners.map((l) => ({
          address: l.address,
          port: l.port,
          process: l.command ? commandName(l.command) : null,
          expected: l.expected,
        }))
      : null,
    listenersError: input.listenersError ?? null,
    lastActivity: input.activity.lastActivity,
    sessions: input.activity.sessions,
  };
}

/** The newest `time.updated` of OpenCode's session list (GET /session). Pure. */
export function lastActivityOf(sessions: unknown): { lastActivity: string | null; sessions: number | null } {
  if (!Array.isArray(sessions)) return { lastActivity: null, sessions: null };
  let newest = 0;
  for (const s of sessions as Array<{ time?: { updated?: unknown; created?: unknown } }>) {
    const t = Number(s?.time?.updated ?? s?.time?.created ?? 0);
    if (Number.isFinite(t) && t > newest) newest = t;
  }
  return { lastActivity: newest > 0 ? new Date(newest).toISOString() : null, sessions: sessions.length };
}
