/**
 * Bind mount or copy (issue 14 items 1 and 2): how one sandbox gets its workspace, from what the
 * caller forced (`--copy`), the config's `workspace.mode` and what the engine probe found. Pure.
 */
export type WorkspaceMode = "bind" | "copy";

export interface WorkspaceModeInput {
  /** `--copy` (or the library's `copy: true`). */
  forceCopy?: boolean;
  /** ocbox.yaml `workspace.mode`. */
  configured: "auto" | "bind" | "copy";
  /** What the probe found; absent when it was not asked (a mode was forced). */
  probe?: { visible: boolean; prefix: string; cached: boolean; unprobed?: string | undefined };
  endpoint: string;
}

export interface WorkspaceModeDecision {
  mode: WorkspaceMode;
  /** One line for the startup summary: which mode and why. */
  why: string;
}

/** Whether the probe must run: only when nothing forces a mode. */
export function needsProbe(input: Pick<WorkspaceModeInput, "forceCopy" | "configured">): boolean {
  return !input.forceCopy && input.configured === "auto";
}

export function decideWorkspaceMode(input: WorkspaceModeInput): WorkspaceModeDecision {
  if (input.forceCopy) return { mode: "copy", why: "copy (--copy)" };
  if (input.configured === "copy") return { mode: "copy", why: "copy (workspace.mode: copy)" };
  if (input.configured === "bind") return { mode: "bind", why: "bind mount (workspace.mode: bind)" };
  const probe = input.probe;
  // A plan that starts nothing (`ocbox plan`, a dry run) does not ask the engine.
  if (!probe) return { mode: "bind", why: "bind mount (auto: the engine was not probed)" };
  if (probe.unprobed)
    return { mode: "bind", why: `bind mount (auto: ${probe.unprobed}; --copy forces copy)` };
  const how = probe.cached ? "cached probe" : "probe";
  return probe.visible
    ? { mode: "bind", why: `bind mount (the engine sees ${probe.prefix}; ${how})` }
    : { mode: "copy", why: `copy (the engine at ${input.endpoint} cannot see ${probe.prefix}; ${how})` };
}
