/**
 * The budget `ocbox serve` keeps its warm sandboxes in, and the one decision on it: may one more
 * warm sandbox start? Each counts at its profile's memory limit (what the engine lets it use, its
 * tmpfs home and /tmp included) and at a stated disk figure. Pure.
 */

export interface WarmBudget {
  /** Warm sandboxes kept per profile (0: none). */
  perProfile: number;
  /** All warm sandboxes together stay within this many bytes of memory limits. */
  memoryBudgetBytes: number;
  /** … and within this many bytes of disk, each counted at WARM_SANDBOX_DISK_BYTES. */
  diskBudgetBytes: number;
}

/**
 * The disk one ready warm sandbox is counted at. Measured on Docker 20.10: 0 B in its containers'
 * writable layers (the agent's root is read-only, its home and /tmp are tmpfs, counted as memory),
 * about 2 kB in its volumes and an empty slot dir; the workspace arrives with the task, which then
 * owns the sandbox. 64 MiB leaves room for what its server and sidecar write while it waits.
 */
export const WARM_SANDBOX_DISK_BYTES = 64 * 1024 ** 2;

export interface WarmCost {
  memoryBytes: number;
  diskBytes: number;
}

/** What the warm sandboxes ready or starting hold now. */
export interface WarmUse {
  sandboxes: number;
  memoryBytes: number;
  diskBytes: number;
}

const size = (bytes: number) =>
  bytes >= 1024 ** 3 ? `${(bytes / 1024 ** 3).toFixed(1)} GiB` : `${(bytes / 1024 ** 2).toFixed(0)} MiB`;

/**
 * Why one more warm sandbox of `cost` may not start (`ofProfile` are this profile's, ready or
 * starting), or undefined: it may.
 */
export function warmRefusal(
  budget: WarmBudget,
  use: WarmUse,
  ofProfile: number,
  cost: WarmCost,
): string | undefined {
  if (ofProfile >= budget.perProfile)
    return `${ofProfile} of ${budget.perProfile} per profile already warm or starting`;
  if (use.memoryBytes + cost.memoryBytes > budget.memoryBudgetBytes)
    return `memory: ${size(use.memoryBytes)} in use + ${size(cost.memoryBytes)} would pass the budget of ${size(budget.memoryBudgetBytes)}`;
  if (use.diskBytes + cost.diskBytes > budget.diskBudgetBytes)
    return `disk: ${size(use.diskBytes)} in use + ${size(cost.diskBytes)} would pass the budget of ${size(budget.diskBudgetBytes)}`;
  return undefined;
}

/** The budget and its use as `ocbox serve status` prints them. */
export function budgetLines(budget: WarmBudget, use: WarmUse, ready: number, profiles: number): string[] {
  return [
    `warm sandboxes: ${ready} ready (${use.sandboxes} ready or starting), up to ${budget.perProfile} per profile, ${profiles} profile(s)`,
    `  memory  ${size(use.memoryBytes)} of ${size(budget.memoryBudgetBytes)} (each at its memory limit)`,
    `  disk    ${size(use.diskBytes)} of ${size(budget.diskBudgetBytes)} (each at ${size(WARM_SANDBOX_DISK_BYTES)})`,
  ];
}
