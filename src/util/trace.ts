/**
 * A debug timing trace (`OCBOX_TRACE=1`): each traced step's start (ms since the process began) and
 * duration go to stderr as one line, so the path from a call to the task's first model request can
 * be read step by step. Off by default; when off, a traced step costs one boolean check.
 */

/** One finished step. */
export interface TraceSpan {
  name: string;
  /** ms since the process started (performance.timeOrigin). */
  startMs: number;
  durationMs: number;
  /** Set when the step threw: its error's name or code. */
  failed?: string;
}

type Sink = (span: TraceSpan) => void;

/** How one span is printed. Pure. */
export function formatTraceLine(span: TraceSpan): string {
  const start = span.startMs.toFixed(1).padStart(9);
  const dur = span.durationMs.toFixed(1).padStart(8);
  return `ocbox trace +${start} ms ${dur} ms  ${span.name}${span.failed ? `  (threw ${span.failed})` : ""}`;
}

/** Whether an environment asks for the trace. Pure. */
export function traceWanted(env: Readonly<Record<string, string | undefined>>): boolean {
  const v = env.OCBOX_TRACE;
  return v !== undefined && v !== "" && v !== "0";
}

const stderrSink: Sink = (span) => process.stderr.write(`${formatTraceLine(span)}\n`);

let sink: Sink | undefined = traceWanted(process.env) ? stderrSink : undefined;

/** Send spans somewhere else (tests, the bench's step counts); undefined turns the trace off. */
export function setTraceSink(next: Sink | undefined): void {
  sink = next;
}

export function tracing(): boolean {
  return sink !== undefined;
}

function failure(e: unknown): string {
  if (e instanceof Error) return (e as Error & { code?: unknown }).code?.toString() ?? e.name;
  return typeof e;
}

/** Run `fn` as the step `name`: its start and duration are traced, its result and error pass through. */
export async function traced<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const out = sink;
  if (!out) return fn();
  const startMs = performance.now();
  try {
    const value = await fn();
    out({ name, startMs, durationMs: performance.now() - startMs });
    return value;
  } catch (e) {
    out({ name, startMs, durationMs: performance.now() - startMs, failed: failure(e) });
    throw e;
  }
}

/** The synchronous twin of `traced`. */
export function tracedSync<T>(name: string, fn: () => T): T {
  const out = sink;
  if (!out) return fn();
  const startMs = performance.now();
  try {
    const value = fn();
    out({ name, startMs, durationMs: performance.now() - startMs });
    return value;
  } catch (e) {
    out({ name, startMs, durationMs: performance.now() - startMs, failed: failure(e) });
    throw e;
  }
}

/** A point in time with no duration (the first model request sent, a process milestone). */
export function traceMark(name: string): void {
  sink?.({ name, startMs: performance.now(), durationMs: 0 });
}
