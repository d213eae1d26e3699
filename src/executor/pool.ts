/**
 * Concurrency pools (FEATURES E10): named backends with a `maxConcurrent`, shared by every task
 * in the process. A single-slot llama.cpp server gets 1, so two tasks on it run one after the
 * other; the wait is reported in the task's result.
 */
import { OcboxError } from "../errors.js";

export interface PoolLease {
  readonly pool: string;
  /** Seconds spent waiting for the slot. */
  readonly waitedS: number;
  release(): void;
}

class Semaphore {
  private active = 0;
  private readonly waiters: Array<() => void> = [];
  constructor(readonly max: number) {}

  async acquire(signal?: AbortSignal): Promise<void> {
    if (this.active < this.max) {
      this.active++;
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const grant = () => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      };
      const onAbort = () => {
        const i = this.waiters.indexOf(grant);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(new OcboxError("INTERRUPTED", "cancelled while waiting for a pool slot"));
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.waiters.push(grant);
    });
  }

  release(): void {
    const next = this.waiters.shift();
    if (next)
      next(); // the slot passes straight to the next waiter
    else this.active = Math.max(0, this.active - 1);
  }

  get inUse(): number {
    return this.active;
  }
  get queued(): number {
    return this.waiters.length;
  }
}

export class Pools {
  private readonly pools = new Map<string, Semaphore>();

  /** Define or resize a pool. Unknown pools are unlimited until defined. */
  define(name: string, maxConcurrent: number): void {
    if (!Number.isInteger(maxConcurrent) || maxConcurrent < 1) {
      throw new OcboxError(
        "CONFIG",
        `pool ${name}: maxConcurrent must be a whole number ≥ 1, not ${maxConcurrent}`,
        {
          fix: "Give maxConcurrent: 1 for a single-slot server.",
        },
      );
    }
    const existing = this.pools.get(name);
    if (existing && existing.max === maxConcurrent) return;
    if (existing && (existing.inUse > 0 || existing.queued > 0)) {
      throw new OcboxError(
        "CONFIG",
        `pool ${name} is in use with maxConcurrent ${existing.max}; it cannot change to ${maxConcurrent}`,
      );
    }
    this.pools.set(name, new Semaphore(maxConcurrent));
  }

  async acquire(name: string, signal?: AbortSignal): Promise<PoolLease> {
    const started = performance.now();
    const sem = this.pools.get(name);
    if (sem) await sem.acquire(signal);
    let released = false;
    return {
      pool: name,
      waitedS: (performance.now() - started) / 1000,
      release: () => {
        if (released) return;
        released = true;
        sem?.release();
      },
    };
  }

  stats(): Record<string, { max: number; inUse: number; queued: number }> {
    return Object.fromEntries(
      [...this.pools].map(([n, s]) => [n, { max: s.max, inUse: s.inUse, queued: s.queued }]),
    );
  }
}

/** The process-wide pools every task shares unless a caller brings its own. */
export const sharedPools = new Pools();
