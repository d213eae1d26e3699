/**
 * The warm pool's refill policy, as pure decisions over its counts. With an instant model a task
 * is CPU work (a sandbox's start and OpenCode's boot), so on a small host a refill that starts
 * while every core runs an agent only slows both: the gate (`maxBusy`, the eval runner's cores)
 * keeps the sandboxes starting plus those taken by a task at or under it.
 */

export interface PoolCounts {
  ready: number;
  starting: number;
  /** Taken by a task and not yet finished. */
  taken: number;
  /** Started over the pool's life. */
  started: number;
  closed: boolean;
}

export interface PoolLimits {
  size: number;
  limit?: number | undefined;
  maxBusy?: number | undefined;
  /** At most this many starting at once (a start is OpenCode's boot: CPU work); default no cap. */
  maxStarting?: number | undefined;
}

/** How many sandboxes to start now: up to `size` ready or starting, within the limit and the gate. */
export function refillCount(c: PoolCounts, l: PoolLimits): number {
  if (c.closed) return 0;
  const want = l.size - c.ready - c.starting;
  const left = (l.limit ?? Infinity) - c.started;
  const room = (l.maxBusy ?? Infinity) - c.taken - c.starting;
  const booting = (l.maxStarting ?? Infinity) - c.starting;
  return Math.max(0, Math.min(want, left, room, booting));
}

/**
 * What a task asking for a sandbox does: take a ready one, wait for one starting, wait for a
 * taken one to finish when only the gate holds the refill back (its finish starts one), or start
 * cold (the pool has nothing coming: its limit is reached, or a start failed).
 */
export function takeStep(c: PoolCounts, l: PoolLimits): "take" | "wait-start" | "wait-finish" | "cold" {
  if (c.ready > 0) return "take";
  if (c.starting > 0) return "wait-start";
  const held =
    !c.closed &&
    l.size > 0 &&
    c.started < (l.limit ?? Infinity) &&
    c.taken > 0 &&
    c.taken >= (l.maxBusy ?? Infinity);
  return held ? "wait-finish" : "cold";
}
