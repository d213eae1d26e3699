/**
 * Progress of a batch (FEATURES F7): done, running, failed and the ETA, plus each running unit's
 * phase. Pure state and rendering; the CLI decides how to draw it (a live block on a terminal,
 * plain lines elsewhere).
 */
/** What a running unit reports, the same for `eval run` and `eval judge`. */
export type UnitStreamEvent =
  | { type: "unit-start"; unit: string }
  | { type: "phase"; unit: string; phase: string; message: string }
  | { type: "agent" | "container" | "trace"; unit: string; line: string };

export class Progress {
  private readonly running = new Map<string, { phase: string; since: number }>();
  done = 0;
  failed = 0;
  infra = 0;
  private readonly durations: number[] = [];

  constructor(
    readonly total: number,
    readonly workers: number,
    private readonly now: () => number = Date.now,
  ) {}

  start(unit: string): void {
    this.running.set(unit, { phase: "queued", since: this.now() });
  }
  phase(unit: string, phase: string): void {
    const r = this.running.get(unit);
    if (r) r.phase = phase;
  }
  end(unit: string, ok: boolean, infra: boolean): void {
    const r = this.running.get(unit);
    if (r) this.durations.push(this.now() - r.since);
    this.running.delete(unit);
    this.done++;
    if (!ok) this.failed++;
    if (infra) this.infra++;
  }

  /** Seconds left: remaining units × mean duration ÷ workers; null before the first finishes. */
  etaS(): number | null {
    if (this.durations.length === 0) return null;
    const mean = this.durations.reduce((a, b) => a + b, 0) / this.durations.length / 1000;
    const left = this.total - this.done;
    return (left * mean) / Math.max(1, Math.min(this.workers, left || 1));
  }

  line(): string {
    const eta = this.etaS();
    const width = 20;
    const filled = this.total ? Math.round((this.done / this.total) * width) : width;
    return (
      `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${this.done}/${this.total} done, ` +
      `${this.running.size} running, ${this.failed} failed (${this.infra} infra)` +
      (eta === null ? "" : `, ETA ${formatDuration(eta)}`)
    );
  }

  runningLines(): string[] {
    return [...this.running].map(
      ([unit, r]) => `  ${unit}: ${r.phase} (${formatDuration((this.now() - r.since) / 1000)})`,
    );
  }
}

export function formatDuration(s: number): string {
  if (s < 60) return `${Math.round(s)} s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m} min ${Math.round(s % 60)} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}
