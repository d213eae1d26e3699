/**
 * Removing a sandbox: the one way for every caller. `startSandbox` (its `stop()`, and the undo of a
 * start that failed half-way), `ocbox down` and the reaper describe what a sandbox is made of as
 * `SandboxParts` (from the `StartedSandbox` that made it, or from the engine's labels, which are
 * the source of truth for a sandbox found later) and `tearDown` removes it in one order:
 *
 * 1. the agent containers are stopped (the sidecar relays for them until they have stopped);
 * 2. the agents are removed, and the other containers (egress sidecar, apt helper) with them;
 * 3. once no container is left: the sidecar's decisions into the decision log (B6), read from its
 *    volume through the engine;
 * 4. the egress control records, the run, egress, socket and apt volumes (and the host run dirs
 *    of sandboxes an older ocbox started), and the workspace given back to its host owner.
 *
 * A step that fails is reported, never thrown; a dir, volume or workspace that a container still
 * left may use is kept (and reported) rather than pulled from under it. The plan is pure.
 */
import { basename, dirname } from "node:path";
import { errorMessage } from "../errors.js";
import { removeEgressControl } from "../egress/control.js";
import { collectEgress } from "./egress-log.js";
import type { ContainerSummary, Engine } from "../runtime/engine.js";
import { LABEL } from "../runtime/labels.js";
import { parseLoan, returnWorkspace, type Ids } from "./ownership.js";
import { removeRunDir } from "./run-dir.js";
import { slotOwner } from "./slot-dir.js";
import { traced } from "../util/trace.js";

export interface PartContainer {
  id: string;
  name: string;
}

/** What one sandbox is made of, as far as ocbox removes it. Plain data. */
export interface SandboxParts {
  agents: PartContainer[];
  /** The egress sidecar and the apt helper. */
  others: PartContainer[];
  /** The sidecar's volume and its control record (egress/control.ts). */
  egress: Array<{ volume: string; control?: string }>;
  /** Host run dirs, only of sandboxes an ocbox before engine volumes started. */
  runDirs: string[];
  volumes: string[];
  /** A workspace lent to the agent user (host root), to give back. */
  giveBack?: { workspace: string; hostUser: Ids; agentUser: Ids };
}

export function emptyParts(): SandboxParts {
  return { agents: [], others: [], egress: [], runDirs: [], volumes: [] };
}

export type TeardownAction =
  | { kind: "stop"; container: PartContainer; stopS: number }
  | { kind: "stop-and-remove"; container: PartContainer; stopS: number }
  | { kind: "collect-egress"; volume: string; control: string; decisionLog: string | undefined }
  | { kind: "remove-control"; file: string }
  | { kind: "remove-run-dir"; dir: string }
  | { kind: "remove-volume"; name: string }
  | { kind: "give-back"; workspace: string; hostUser: Ids; agentUser: Ids };

export interface TeardownPhase {
  /** Run only when every container of the sandbox was removed. */
  needsContainersGone: boolean;
  /** The phase's steps run at once. */
  steps: TeardownAction[];
}

export interface TeardownOptions {
  /**
   * Seconds the agent gets for OpenCode's own shutdown before it is killed; 0 kills it with its
   * removal, for a sandbox whose OpenCode data is thrown away with it (a task's: its session was
   * read before the end).
   */
  agentStopS: number;
  /** Seconds for the sidecar and the apt helper; 0 removes them at once (SIGKILL). */
  otherStopS: number;
  /** Where the egress decisions go; else the control record's decision log. */
  decisionLog?: string;
}

/** The order of removal (see the file's comment). Pure. */
export function teardownPlan(parts: SandboxParts, options: TeardownOptions): TeardownPhase[] {
  const after: TeardownAction[] = [
    ...parts.egress.flatMap((e): TeardownAction[] =>
      e.control ? [{ kind: "remove-control" as const, file: e.control }] : [],
    ),
    ...unique(parts.runDirs).map((dir) => ({ kind: "remove-run-dir" as const, dir })),
    ...unique(parts.volumes).map((name) => ({ kind: "remove-volume" as const, name })),
    ...(parts.giveBack ? [{ kind: "give-back" as const, ...parts.giveBack }] : []),
  ];
  const phases: TeardownPhase[] = [
    // No grace (a sandbox whose OpenCode data dies with it): the removal below kills the agent.
    {
      needsContainersGone: false,
      steps:
        options.agentStopS > 0
          ? parts.agents.map((container) => ({ kind: "stop", container, stopS: options.agentStopS }))
          : [],
    },
    // Once the agents have stopped, nothing needs the sidecar: it goes while they are removed.
    {
      needsContainersGone: false,
      steps: [
        ...parts.agents.map((container) => ({ kind: "stop-and-remove" as const, container, stopS: 0 })),
        ...parts.others.map((container) => ({
          kind: "stop-and-remove" as const,
          container,
          stopS: options.otherStopS,
        })),
      ],
    },
    {
      needsContainersGone: true,
      steps: parts.egress.flatMap((e) =>
        e.control
          ? [
              {
                kind: "collect-egress" as const,
                volume: e.volume,
                control: e.control,
                decisionLog: options.decisionLog,
              },
            ]
          : [],
      ),
    },
    { needsContainersGone: true, steps: after },
  ];
  return phases.filter((p) => p.steps.length > 0);
}

/**
 * The parts of one sandbox's containers and volumes, from their labels. Volumes of runs with no
 * container here are left out (another run of the same sandbox may still use them). The
 * workspace is given back only from an agent's loan label, never for a warm-pool slot (removed,
 * not given back), and only when ocbox runs as the host user the loan names. Pure.
 */
export function partsFromLabels(
  containers: readonly ContainerSummary[],
  volumes: ReadonlyArray<{ name: string; labels: Record<string, string> }>,
  uid: number | undefined,
): SandboxParts {
  const parts = emptyParts();
  const runs = new Set(containers.map((c) => `${c.labels[LABEL.sandbox]}/${c.labels[LABEL.run]}`));
  for (const c of containers) {
    const ref = { id: c.id, name: c.name };
    const role = c.labels[LABEL.role];
    (role === "agent" ? parts.agents : parts.others).push(ref);
    const egressVolume = c.labels[LABEL.egressVolume];
    if (egressVolume) {
      const control = c.labels[LABEL.egressControl];
      parts.egress.push({ volume: egressVolume, ...(control ? { control } : {}) });
    }
    const runDir = c.labels[LABEL.runDir];
    if (runDir) parts.runDirs.push(runDir);
    const loan = parseLoan(c.labels[LABEL.loan]);
    const workspace = c.labels[LABEL.workspace];
    if (role === "agent" && loan && workspace && !isSlotPath(workspace) && uid === loan.hostUser.uid) {
      parts.giveBack = { workspace, ...loan };
    }
  }
  parts.runDirs = unique(parts.runDirs);
  parts.volumes = volumes
    .filter((v) => runs.has(`${v.labels[LABEL.sandbox]}/${v.labels[LABEL.run]}`))
    .map((v) => v.name);
  return parts;
}

export interface TeardownReport {
  /** Names of the removed containers. */
  containers: string[];
  volumes: string[];
  /** Run and egress dirs removed. */
  dirs: string[];
  /** Workspaces given back to their host owner. */
  workspaces: string[];
  /** Egress decisions moved into the decision log. */
  egressDecisions: number;
  /** What was left because a container could not be removed, with why. */
  kept: string[];
  /** What could not be removed, with why. */
  errors: string[];
}

type TeardownEngine = Pick<
  Engine,
  "stopContainer" | "removeContainer" | "removeVolume" | "getArchive" | "volumeExists" | "createContainer"
>;

/** Remove a sandbox's parts in the plan's order. Never throws: failures are in the report. */
export async function tearDown(
  engine: TeardownEngine,
  parts: SandboxParts,
  options: TeardownOptions,
): Promise<TeardownReport> {
  const report: TeardownReport = {
    containers: [],
    volumes: [],
    dirs: [],
    workspaces: [],
    egressDecisions: 0,
    kept: [],
    errors: [],
  };
  let containerFailed = false;
  for (const phase of teardownPlan(parts, options)) {
    if (phase.needsContainersGone && containerFailed) {
      report.kept.push(...phase.steps.map((s) => `${describe(s)}: kept, a container is still there`));
      continue;
    }
    const kinds = [...new Set(phase.steps.map((s) => s.kind))].join("+");
    await traced(`teardown.${kinds}`, () =>
      Promise.all(
        phase.steps.map(async (step) => {
          try {
            await perform(engine, step, report);
          } catch (e) {
            if (step.kind === "stop-and-remove") containerFailed = true;
            report.errors.push(`${describe(step)}: ${errorMessage(e)}`);
          }
        }),
      ),
    );
  }
  return report;
}

async function perform(engine: TeardownEngine, step: TeardownAction, report: TeardownReport): Promise<void> {
  switch (step.kind) {
    case "stop":
      await engine.stopContainer(step.container.id, step.stopS);
      return;
    case "stop-and-remove":
      // 0: no grace, the removal kills it (one engine call instead of two).
      if (step.stopS > 0) await engine.stopContainer(step.container.id, step.stopS);
      await engine.removeContainer(step.container.id);
      report.containers.push(step.container.name);
      return;
    case "collect-egress":
      report.egressDecisions += (
        await collectEgress(engine, step.control, step.volume, step.decisionLog)
      ).length;
      return;
    case "remove-run-dir":
      await removeRunDir(step.dir);
      report.dirs.push(step.dir);
      return;
    case "remove-control":
      await removeEgressControl(step.file);
      return;
    case "remove-volume":
      await engine.removeVolume(step.name);
      report.volumes.push(step.name);
      return;
    case "give-back":
      await returnWorkspace(step.workspace, step.hostUser, step.agentUser);
      report.workspaces.push(step.workspace);
      return;
  }
}

/** How a step reads in a report. Pure. */
export function describe(step: TeardownAction): string {
  switch (step.kind) {
    case "stop":
      return `stop container ${step.container.name}`;
    case "stop-and-remove":
      return `container ${step.container.name}`;
    case "collect-egress":
      return `egress decisions of ${step.volume}`;
    case "remove-run-dir":
      return `dir ${step.dir}`;
    case "remove-control":
      return `egress control ${step.file}`;
    case "remove-volume":
      return `volume ${step.name}`;
    case "give-back":
      return `give back ${step.workspace}`;
  }
}

/** A warm-pool slot's path (slot-dir.ts), under any state dir: it is removed, never given back. */
export function isSlotPath(path: string): boolean {
  return basename(dirname(path)) === "slots" && slotOwner(basename(path), "") !== undefined;
}

function unique<T>(items: readonly T[]): T[] {
  return [...new Set(items)];
}
