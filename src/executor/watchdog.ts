/**
 * The task's two timers (FEATURES E7): a hard wall-clock cap, and an inactivity timer fed by the
 * server's event stream. When one fires, the task is aborted and the result says which. The
 * timers run on an injected {@link Clock}, so that tests can move time by hand.
 */
export type TimerKind = "TIMEOUT" | "INACTIVITY";

/** A timer source: the system's by default, a hand-driven one in tests. */
export interface Clock {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Node's timers, unref'd so that a pending cap never keeps the process alive. */
export const systemClock: Clock = {
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout(handle) {
    clearTimeout(handle as NodeJS.Timeout | undefined);
  },
};

export class Watchdog {
  private hard: unknown;
  private idle: unknown;
  private armed = false;
  fired: TimerKind | undefined;
  private readonly controller = new AbortController();

  constructor(
    private readonly hardMs: number,
    private readonly inactivityMs: number | null,
    private readonly clock: Clock = systemClock,
  ) {}

  /** Aborts when a timer fires. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Start the hard cap (at the task's start). */
  start(): void {
    this.hard = this.clock.setTimeout(() => this.fire("TIMEOUT"), this.hardMs);
  }

  /** Watch for inactivity from now on (while the agent works). */
  arm(): void {
    this.armed = true;
    this.touch();
  }

  disarm(): void {
    this.armed = false;
    this.clock.clearTimeout(this.idle);
  }

  /** Agent activity: restart the inactivity timer. */
  touch(): void {
    if (!this.armed || this.inactivityMs === null) return;
    this.clock.clearTimeout(this.idle);
    this.idle = this.clock.setTimeout(() => this.fire("INACTIVITY"), this.inactivityMs);
  }

  private fire(kind: TimerKind): void {
    if (this.fired) return;
    this.fired = kind;
    this.controller.abort(new Error(kind));
  }

  stop(): void {
    this.clock.clearTimeout(this.hard);
    this.clock.clearTimeout(this.idle);
  }
}
