/**
 * The service's warm sandboxes: one WarmPool per sandbox profile its clients' tasks use, shared
 * by every client, inside the stated budget (warm-budget.ts): every start, the first and each
 * refill, is asked of the budget, and one that would pass it is skipped with a log line. The
 * first task of a profile starts cold and starts that profile's pool; later tasks of the same
 * profile take a warm sandbox. A profile with performance volumes (E11) is never warm.
 */
import { errorMessage } from "../errors.js";
import type { TaskPlan } from "../executor/task-plan.js";
import { profileKey } from "../executor/task-sandbox-spec.js";
import { WarmPool } from "../executor/warm-pool.js";
import type { Engine } from "../runtime/engine.js";
import {
  WARM_SANDBOX_DISK_BYTES,
  warmRefusal,
  type WarmBudget,
  type WarmCost,
  type WarmUse,
} from "./warm-budget.js";

export type { WarmBudget } from "./warm-budget.js";

const held = (pool: WarmPool) => pool.readyCount + pool.startingCount;

export class ServiceWarmPools {
  private readonly pools = new Map<string, { pool: WarmPool; cost: WarmCost }>();

  constructor(
    private readonly engine: Engine,
    readonly budget: WarmBudget,
    private readonly onLine: (line: string) => void,
  ) {}

  /** The pool for this task's profile (refilled within the budget), or undefined: the task starts cold. */
  for(plan: TaskPlan): WarmPool | undefined {
    if (plan.profile.cacheVolumes?.paths.length) return undefined;
    const key = profileKey(plan.profile);
    const known = this.pools.get(key);
    if (known) {
      known.pool.fill();
      return known.pool;
    }
    const cost = { memoryBytes: plan.profile.limits.memoryBytes, diskBytes: WARM_SANDBOX_DISK_BYTES };
    const why = warmRefusal(this.budget, this.use(), 0, cost);
    if (why) {
      this.onLine(`warm pool: none for this profile (${why}); its tasks start cold`);
      return undefined;
    }
    const pool: WarmPool = new WarmPool(this.engine, plan.profile, {
      size: this.budget.perProfile,
      onLine: this.onLine,
      mayStart: (): boolean => this.mayStart(pool, cost),
    });
    this.pools.set(key, { pool, cost });
    this.onLine(`warm pool: up to ${this.budget.perProfile} sandbox(es) for a new profile`);
    pool.fill();
    return undefined;
  }

  private mayStart(pool: WarmPool, cost: WarmCost): boolean {
    const why = warmRefusal(this.budget, this.use(), held(pool), cost);
    if (why) this.onLine(`warm pool: refill skipped (${why})`);
    return why === undefined;
  }

  /** What the warm sandboxes ready or starting hold. */
  use(): WarmUse {
    let use: WarmUse = { sandboxes: 0, memoryBytes: 0, diskBytes: 0 };
    for (const { pool, cost } of this.pools.values()) {
      const n = held(pool);
      use = {
        sandboxes: use.sandboxes + n,
        memoryBytes: use.memoryBytes + n * cost.memoryBytes,
        diskBytes: use.diskBytes + n * cost.diskBytes,
      };
    }
    return use;
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
