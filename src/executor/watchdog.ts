/**
 * The task's two timers (FEATURES E7): a hard wall-clock cap, and an inactivity timer fed by the
 * server's event stream. When one fires, the task is aborted and the result says which.
 */
export type TimerKind = "TIMEOUT" | "INACTIVITY";

export class Watchdog {
  private hard: NodeJS.Timeout | undefined;
  private idle: NodeJS.Timeout | undefined;
  private armed = false;
  fired: TimerKind | undefined;
  private readonly controller = new AbortController();

  constructor(
    private readonly hardMs: number,
    private readonly inactivityMs: number | null,
  ) {}

  /** Aborts when a timer fires. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Start the hard cap (at the task's start). */
  start(): void {
    this.hard = setTimeout(() => this.fire("TIMEOUT"), this.hardMs);
    this.hard.unref();
  }

  /** Watch for inactivity from now on (while the agent works). */
  arm(): void {
    this.armed = true;
    this.touch();
  }

  disarm(): void {
    this.armed = false;
    clearTimeout(this.idle);
  }

  /** Agent activity: restart the inactivity timer. */
  touch(): void {
    if (!this.armed || this.inactivityMs === null) return;
    clearTimeout(this.idle);
    this.idle = setTimeout(() => this.fire("INACTIVITY"), this.inactivityMs);
    this.idle.unref();
  }

  private fire(kind: TimerKind): void {
    if (this.fired) return;
    this.fired = kind;
    this.controller.abort(new Error(kind));
  }

  stop(): void {
    clearTimeout(this.hard);
    clearTimeout(this.idle);
  }
}
