/**
 * The dashboard's data, gathered on the host every few seconds for every running sandbox: engine
 * stats, listeners (as the listener monitor reads them), live egress decisions, and the newest
 * session update from the sandbox's own server (with the password from its state dir, when this
 * user can read it). Detached project sandboxes also get their configured monitors here, since
 * no `ocbox up` is running for them.
 */
import { summarise } from "../egress/decisions.js";
import { errorMessage } from "../errors.js";
import { loadProjectConfig } from "../config/load.js";
import { authorization } from "../opencode/server-handle.js";
import type { Engine } from "../runtime/engine.js";
import { listSandboxes, type SandboxRow } from "../project/sandbox-list.js";
import { readPassword } from "../project/state.js";
import { stateLayout } from "../util/state-layout.js";
import {
  pushSample,
  sandboxView,
  lastActivityOf,
  type DashboardSnapshot,
  type Sample,
} from "./dashboard-model.js";
import { classifyListeners, readListeners } from "./listeners.js";
import { liveDecisions } from "./live-egress.js";
import { anyMonitorOn, startMonitors, type RunningMonitors } from "./run-monitors.js";

export interface CollectorOptions {
  env?: NodeJS.ProcessEnv;
  /** Samples kept per sandbox (the chart's width). */
  keep?: number;
  /** Run the configured monitors of detached project sandboxes. Default true. */
  runMonitors?: boolean;
}

async function activityOf(row: SandboxRow, env: NodeJS.ProcessEnv) {
  const password = await readPassword(stateLayout(row.sandboxId, env)).catch(() => undefined);
  if (!password) return { lastActivity: null, sessions: null };
  try {
    const res = await fetch(`${row.url}/session`, {
      headers: { authorization: authorization(password) },
      signal: AbortSignal.timeout(3000),
    });
    return res.ok ? lastActivityOf(await res.json()) : { lastActivity: null, sessions: null };
  } catch {
    return { lastActivity: null, sessions: null };
  }
}

export class DashboardCollector {
  private readonly samples = new Map<string, Sample[]>();
  private readonly monitors = new Map<string, RunningMonitors>();
  private readonly env: NodeJS.ProcessEnv;
  private readonly keep: number;

  constructor(
    private readonly engine: Engine,
    private readonly options: CollectorOptions = {},
  ) {
    this.env = options.env ?? process.env;
    this.keep = options.keep ?? 150;
  }

  /** One round over every running sandbox. */
  async collect(): Promise<DashboardSnapshot> {
    const rows = (await listSandboxes(this.engine)).filter((r) => r.state !== "exited");
    const views = [];
    for (const row of rows) {
      const key = `${row.sandboxId}/${row.runId}`;
      const stats = await this.engine.stats(row.agentId);
      const samples = stats
        ? pushSample(
            this.samples.get(key) ?? [],
            {
              t: Date.now(),
              cpu: Math.round(stats.cpuPercent * 10) / 10,
              memMb: Math.round(stats.memoryBytes / 1048576),
            },
            this.keep,
          )
        : (this.samples.get(key) ?? []);
      this.samples.set(key, samples);
      let listeners;
      let listenersError: string | undefined;
      try {
        const read = await readListeners(this.engine, row.agentId);
        listeners = classifyListeners(
          read.listeners,
          { system: read.system, configured: [] },
          new Date(),
        ).listeners;
      } catch (e) {
        listenersError = errorMessage(e);
      }
      const decisions = await liveDecisions(this.engine, row.sandboxId, row.runId).catch(() => []);
      if (this.options.runMonitors !== false) await this.ensureMonitors(row);
      views.push(
        sandboxView({
          row,
          samples,
          memLimitBytes: stats?.memoryLimitBytes,
          egress: summarise(decisions),
          listeners,
          listenersError,
          activity: await activityOf(row, this.env),
        }),
      );
    }
    const live = new Set(rows.map((r) => `${r.sandboxId}/${r.runId}`));
    for (const key of [...this.samples.keys()]) if (!live.has(key)) this.samples.delete(key);
    for (const [key, m] of [...this.monitors]) {
      if (live.has(key)) continue;
      this.monitors.delete(key);
      await m.stop();
    }
    return { time: new Date().toISOString(), sandboxes: views };
  }

  private async ensureMonitors(row: SandboxRow): Promise<void> {
    const key = `${row.sandboxId}/${row.runId}`;
    if (row.lifetime !== "detached" || this.monitors.has(key) || !row.project) return;
    const config = await loadProjectConfig(row.project).catch(() => undefined);
    const monitors = config?.config.monitors;
    if (!monitors || !anyMonitorOn(monitors) || config.sandboxId !== row.sandboxId) {
      this.monitors.set(key, { names: [], stop: () => Promise.resolve() });
      return;
    }
    this.monitors.set(
      key,
      startMonitors(
        this.engine,
        {
          sandboxId: row.sandboxId,
          runId: row.runId,
          agentId: row.agentId,
          startedAt: row.startedAt,
          stateDir: stateLayout(row.sandboxId, this.env).dir,
        },
        monitors,
      ),
    );
  }

  async close(): Promise<void> {
    for (const m of this.monitors.values()) await m.stop();
    this.monitors.clear();
  }
}
