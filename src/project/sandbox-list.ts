/**
 * Which sandboxes are on the engine, read from their labels (ARCHITECTURE decision 6), so any
 * ocbox process can find a sandbox another one started. `sandboxRows` is pure.
 */
import type { ContainerSummary, Engine } from "../runtime/engine.js";
import { LABEL, agentLabels } from "../runtime/labels.js";

export interface SandboxRow {
  sandboxId: string;
  runId: string;
  /** The project (workspace) path on the host. */
  project: string;
  /** Where the project is inside the sandbox (`/<name>` for `up`, /workspace before that). */
  workspaceTarget: string;
  /** http://127.0.0.1:PORT; log in with `ocbox web`. "" with the "exec" transport (no port). */
  url: string;
  /** 0: no published port; the server is reached over exec relays (project/server-access.ts). */
  port: number;
  /** The egress sidecar, where exec relays to the server run. */
  egressId?: string | undefined;
  /** "running", "starting", "unhealthy", "exited", … from the agent container. */
  state: string;
  lifetime: string;
  startedAt: string;
  uptimeS: number;
  ownerPid: number;
  agentId: string;
  /** Every container of this run (agent and sidecar). */
  containerIds: string[];
}

function stateOf(c: ContainerSummary): string {
  if (c.state !== "running") return c.state;
  if (/\(unhealthy\)/.test(c.status)) return "unhealthy";
  if (/\(health: starting\)/.test(c.status)) return "starting";
  return "running";
}

/** One row per run that has an agent container, oldest first. Pure. */
export function sandboxRows(containers: readonly ContainerSummary[], now: Date): SandboxRow[] {
  const byRun = new Map<string, ContainerSummary[]>();
  for (const c of containers) {
    const key = `${c.labels[LABEL.sandbox]}/${c.labels[LABEL.run]}`;
    byRun.set(key, [...(byRun.get(key) ?? []), c]);
  }
  const rows: SandboxRow[] = [];
  for (const group of byRun.values()) {
    const agent = group.find((c) => c.labels[LABEL.role] === "agent");
    if (!agent) continue;
    const l = agentLabels(agent.name, agent.labels);
    const startedAt = l.startedAt ?? agent.createdAt.toISOString();
    rows.push({
      sandboxId: l.sandboxId,
      runId: l.runId,
      project: l.workspace,
      workspaceTarget: l.workspaceTarget,
      url: l.port > 0 ? `http://127.0.0.1:${l.port}` : "",
      port: l.port,
      egressId: group.find((c) => c.labels[LABEL.role] === "egress")?.id,
      state: stateOf(agent),
      lifetime: l.lifetime,
      startedAt,
      uptimeS: Math.max(0, Math.round((now.getTime() - Date.parse(startedAt)) / 1000)),
      ownerPid: l.ownerPid,
      agentId: agent.id,
      containerIds: group.map((c) => c.id),
    });
  }
  return rows.sort((a, b) => a.startedAt.localeCompare(b.startedAt));
}

/** Every ocbox sandbox on the engine (stopped ones too with `all`). */
export async function listSandboxes(engine: Engine, options: { all?: boolean } = {}): Promise<SandboxRow[]> {
  const containers = await engine.listContainers([`${LABEL.managed}=true`], options.all ?? false);
  return sandboxRows(containers, new Date());
}

/** The project's running sandbox, if any. */
export async function findProjectSandbox(engine: Engine, sandboxId: string): Promise<SandboxRow | undefined> {
  const containers = await engine.listContainers(
    [`${LABEL.managed}=true`, `${LABEL.sandbox}=${sandboxId}`],
    false,
  );
  return sandboxRows(containers, new Date()).find((r) => r.state !== "exited");
}

/** "3h 12m", "4m 05s", "12s". Pure. */
export function formatUptime(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h > 0) return `${h}h ${String(m).padStart(2, "0")}m`;
  if (m > 0) return `${m}m ${String(s).padStart(2, "0")}s`;
  return `${s}s`;
}
