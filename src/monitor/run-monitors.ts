/**
 * Running the monitors a project switched on (ocbox.yaml `monitors`) for one running sandbox, on
 * the host. Each tick is independent; a failing tick writes an `error` record and the next one
 * tries again. `stop()` ends them and waits for a tick in flight.
 */
import type { MonitorsConfig } from "../config/monitors-schema.js";
import { errorMessage } from "../errors.js";
import type { Engine } from "../runtime/engine.js";
import { appendJsonl, monitorFiles } from "./jsonl.js";
import { classifyListeners, readListeners, type ListenerScan } from "./listeners.js";
import { liveDecisions } from "./live-egress.js";
import { snapshotResources, type ResourceSnapshot } from "./resources.js";
import { securitySummary } from "./security-summary.js";

export interface MonitorTarget {
  sandboxId: string;
  runId: string;
  agentId: string;
  stateDir: string;
  /** When the sandbox started (ISO): the first summary covers the time since. Default: now. */
  startedAt?: string;
}

export interface RunningMonitors {
  /** Names of the monitors started. */
  names: string[];
  stop(): Promise<void>;
}

export function anyMonitorOn(config: MonitorsConfig): boolean {
  return config.listeners.enabled || config.resources.enabled || config.summary.enabled;
}

/** Peaks are kept for this many snapshots between summaries. */
const KEEP_SNAPSHOTS = 2000;

export function startMonitors(
  engine: Engine,
  target: MonitorTarget,
  config: MonitorsConfig,
): RunningMonitors {
  const files = monitorFiles(target.stateDir);
  const timers: NodeJS.Timeout[] = [];
  const inFlight = new Set<Promise<void>>();
  let lastScan: ListenerScan | undefined;
  let snapshots: ResourceSnapshot[] = [];
  let since = target.startedAt ? new Date(target.startedAt) : new Date();
  let stopped = false;

  const every = (seconds: number, file: string, tick: () => Promise<unknown>, now = true) => {
    const run = () => {
      if (stopped) return;
      const p = tick()
        .then((record) => (record === undefined ? undefined : appendJsonl(file, record)))
        .catch((e: unknown) =>
          appendJsonl(file, { time: new Date().toISOString(), error: errorMessage(e) }).catch(
            () => undefined,
          ),
        )
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
    };
    if (now) run();
    timers.push(setInterval(run, seconds * 1000));
  };

  const scanListeners = async () => {
    const { listeners, system } = await readListeners(engine, target.agentId);
    lastScan = classifyListeners(listeners, { system, configured: config.listeners.expected }, new Date());
    return lastScan;
  };
  const names: string[] = [];
  if (config.listeners.enabled) {
    names.push("listeners");
    every(config.listeners.intervalS, files.listeners, scanListeners);
  }
  if (config.resources.enabled || config.summary.enabled) {
    if (config.resources.enabled) names.push("resources");
    const interval = config.resources.enabled
      ? config.resources.intervalS
      : Math.min(60, config.summary.intervalS);
    every(interval, files.resources, async () => {
      const s = await snapshotResources(engine, target.agentId);
      if (s) snapshots = [...snapshots.slice(-KEEP_SNAPSHOTS + 1), s];
      // Without the resources monitor the snapshots only feed the summary's peaks.
      return config.resources.enabled ? s : undefined;
    });
  }
  if (config.summary.enabled) {
    names.push("summary");
    const summarise = async () => {
      if (!config.listeners.enabled) await scanListeners().catch(() => undefined);
      const now = new Date();
      const summary = securitySummary({
        since,
        now,
        lastScan,
        snapshots,
        decisions: await liveDecisions(engine, target.sandboxId, target.runId),
      });
      since = now;
      snapshots = snapshots.slice(-1);
      return summary;
    };
    every(config.summary.intervalS, files.summary, summarise, false);
  }
  return {
    names,
    stop: async () => {
      stopped = true;
      for (const t of timers) clearInterval(t);
      await Promise.all([...inFlight]);
    },
  };
}
