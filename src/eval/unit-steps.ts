/**
 * A unit's step trace: seconds per named step of its life (the workspace copy, the task, the
 * session export, the copy back, the diff, the files), kept in `unit.json` so a slow unit says
 * where its time went and the benchmark can tell the eval runner's own cost from the task's.
 */

/** Seconds per step, in the order the steps ran. */
export type UnitSteps = Record<string, number>;

export class StepTimer {
  private readonly steps: UnitSteps = {};
  constructor(private readonly now: () => number = () => performance.now()) {}

  /** Run `fn`, adding its wall time (ms clock) to step `name`, whether it returns or throws. */
  async time<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const t = this.now();
    try {
      return await fn();
    } finally {
      this.add(name, (this.now() - t) / 1000);
    }
  }

  add(name: string, seconds: number): void {
    this.steps[name] = Math.round(((this.steps[name] ?? 0) + seconds) * 1e4) / 1e4;
  }

  snapshot(): UnitSteps {
    return { ...this.steps };
  }
}

/**
 * What a unit cost beyond its task (`runTask`'s own work: sandbox, agent, sandbox end) from its
 * step trace: every step but `task`, plus the eval's own work done inside the task's span
 * (`export`, the session export before the sandbox goes). Pure.
 */
export function overheadSeconds(steps: UnitSteps): number {
  let total = 0;
  for (const [name, s] of Object.entries(steps)) if (name !== "task" && name !== "check") total += s;
  return Math.round(total * 1e4) / 1e4;
}
