/**
 * What a (resumed) run has to do: one unit per task and repeat, minus the units the journal says
 * are finished for the same task digest. Infrastructure failures count as finished unless
 * `--retry-failed infra` asks for them again. Pure.
 */
import type { UnitState } from "./journal.js";
import type { TaskDef } from "./task-set.js";

export interface Unit {
  /** `<task id>#<repeat>`, the journal's key. */
  key: string;
  task: TaskDef;
  repeat: number;
  /** Relative to the output dir: `tasks/<id>/r<repeat>`. */
  dir: string;
}

export interface UnitPlan {
  todo: Unit[];
  kept: Unit[];
  /** Units rerun because they were in flight when the last run stopped. */
  resumed: string[];
}

export const unitKey = (id: string, repeat: number) => `${id}#${repeat}`;
export const unitDir = (id: string, repeat: number) => `tasks/${id}/r${repeat}`;

export function planUnits(
  tasks: readonly TaskDef[],
  repeat: number,
  state: UnitState,
  options: { retryInfra?: boolean } = {},
): UnitPlan {
  const plan: UnitPlan = { todo: [], kept: [], resumed: [] };
  for (const task of tasks) {
    for (let r = 1; r <= repeat; r++) {
      const unit = { key: unitKey(task.id, r), task, repeat: r, dir: unitDir(task.id, r) };
      const done = state.finished.get(unit.key);
      const keep = done && done.digest === task.digest && !(done.infra && options.retryInfra);
      if (keep) plan.kept.push(unit);
      else plan.todo.push(unit);
      if (state.interrupted.has(unit.key)) plan.resumed.push(unit.key);
    }
  }
  return plan;
}

/**
 * Run `fn` over `items` with at most `n` at a time, in order of the list. When one call throws
 * (an interrupt), no further item starts, the calls in flight are awaited (they clean up after
 * themselves), and then the first error is thrown.
 */
export async function runWorkers<T>(
  items: readonly T[],
  n: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed: { error: unknown } | undefined;
  const worker = async () => {
    while (!failed) {
      const item = items[next++];
      if (item === undefined) return;
      try {
        await fn(item);
      } catch (error) {
        failed ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(n, items.length)) }, worker));
  if (failed) throw failed.error;
}

/**
 * How many warm sandboxes to keep ready for `workers` workers and `units` units to run: one per
 * worker, plus one while the host has a spare core, so a refill overlaps the running units instead
 * of making the next one wait. On 2 cores, n=2 alternating batches of 8: 1 worker with a pool of 2
 * ran 23.5 tasks/min against 20.2 with 1; 2 workers with a pool of 3 ran 10 % slower than with 2.
 */
export function warmPoolSize(workers: number, units: number, cpus: number): number {
  return Math.max(0, Math.min(units, workers < cpus ? workers + 1 : workers));
}

/**
 * How many warm sandboxes may start at once: one per core. A sandbox's start (the engine's
 * containers, OpenCode's boot) is CPU-bound; with more workers than cores every refill started at
 * once makes them all slower and costs more CPU in all. 8 trivial tasks, 4 workers on 2 cores,
 * n=2 each, 2026-12-03: uncapped 24.2 and 24.6 s (machine CPU 47.6 and 48.5 s), capped at 2
 * 20.6 and 21.2 s (40.2 and 41.7 s), capped at 1 23.6 and 23.7 s (the cores went 15 % idle).
 * With no more workers than cores the cap changes nothing (the pool is never larger).
 */
export function warmPoolMaxStarting(cpus: number): number {
  return Math.max(1, cpus);
}
