/**
 * The service's warm sandboxes: one WarmPool per sandbox profile its clients' tasks use, shared
 * by every client, inside a stated memory budget (each warm sandbox counts at its profile's memory
 * limit). The first task of a profile starts cold and starts that profile's pool; later tasks of
 * the same profile take a warm sandbox. A profile with performance volumes (E11) is never warm.
 */
import { errorMessage } from "../errors.js";
import type { TaskPlan } from "../executor/task-plan.js";
import { profileKey } from "../executor/task-sandbox-spec.js";
import { WarmPool } from "../executor/warm-pool.js";
import type { Engine } from "../runtime/engine.js";

export interface WarmBudget {
  /** Warm sandboxes kept per profile (0: none). */
  perProfile: number;
  /** All warm sandboxes together stay within this many bytes of memory limits. */
  memoryBudgetBytes: number;
}

/** How many warm sandboxes a new profile may have within the budget. Pure. */
export function warmSizeFor(budget: WarmBudget, usedBytes: number, memoryBytes: number): number {
  if (memoryBytes <= 0) return 0;
  const fits = Math.floor((budget.memoryBudgetBytes - usedBytes) / memoryBytes);
  return Math.max(0, Math.min(budget.perProfile, fits));
}

export class ServiceWarmPools {
  private readonly pools = new Map<string, { pool: WarmPool; bytes: number }>();

  constructor(
    private readonly engine: Engine,
    readonly budget: WarmBudget,
    private readonly onLine: (line: string) => void,
  ) {}

  /** The pool for this task's profile (refilled), or undefined: the task starts cold. */
  for(plan: TaskPlan): WarmPool | undefined {
    if (plan.profile.cacheVolumes?.paths.length) return undefined;
    const key = profileKey(plan.profile);
    const known = this.pools.get(key);
    if (known) {
      known.pool.fill();
      return known.pool;
    }
    const memory = plan.profile.limits.memoryBytes;
    const size = warmSizeFor(this.budget, this.usedBytes(), memory);
    if (size === 0) {
      this.onLine(
        `warm pool: no room for this profile within the memory budget (${this.budget.memoryBudgetBytes} bytes)`,
      );
      return undefined;
    }
    const pool = new WarmPool(this.engine, plan.profile, { size, onLine: this.onLine });
    this.pools.set(key, { pool, bytes: size * memory });
    this.onLine(`warm pool: ${size} sandbox(es) for a new profile, ${size * memory} bytes of the budget`);
    pool.fill();
    return undefined;
  }

  usedBytes(): number {
    return [...this.pools.values()].reduce((sum, p) => sum + p.bytes, 0);
  }

  get ready(): number {
    return [...this.pools.values()].reduce((sum, p) => sum + p.pool.readyCount, 0);
  }

  get profiles(): number {
    return this.pools.size;
  }

  async close(): Promise<void> {
    await Promise.all(
      [...this.pools.values()].map((p) =>
        p.pool.close().catch((e: unknown) => this.onLine(`warm pool: closing: ${errorMessage(e)}`)),
      ),
    );
    this.pools.clear();
  }
}
