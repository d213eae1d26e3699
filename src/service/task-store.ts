/**
 * The service's tasks: each runs through an injected runner (runTask in practice), keeps its
 * events for late subscribers (SSE replays them, then follows), and ends as a TaskResult or an
 * error. A runner that throws or rejects ends its task as `failed`; the store and the service go
 * on. Pure apart from the runner it is handed.
 */
import { randomBytes } from "node:crypto";
import { errorMessage, isOcboxError } from "../errors.js";
import type { TaskEvent } from "../executor/task-run.js";
import { exitCodeFor, type TaskResult } from "../executor/task.js";
import { errorBodyOf, type ErrorBody } from "./protocol.js";

export type ServiceTaskRunner = (signal: AbortSignal, onEvent: (e: TaskEvent) => void) => Promise<TaskResult>;

export type ServiceTaskStatus = "running" | "done" | "aborted" | "failed";

export interface ServiceTask {
  id: string;
  status: ServiceTaskStatus;
  /** The prompt's first 200 characters. */
  prompt: string;
  startedAt: string;
  endedAt: string | null;
  result: TaskResult | null;
  /** `ocbox run`'s exit code for this task: by outcome, or the error's (2 bad input, 3 engine, 130 aborted). */
  exitCode: number | null;
  /** Why the task could not run (bad config, not approved, no engine …); agent-side failures are in `result`. */
  error: ErrorBody | null;
}

/** One entry of a task's event stream. */
export type StoredEvent = { type: "event"; event: TaskEvent } | { type: "end"; task: ServiceTask };

export class TaskStore {
  private readonly tasks = new Map<string, ServiceTask>();
  private readonly controllers = new Map<string, AbortController>();
  private readonly done = new Map<string, Promise<ServiceTask>>();
  private readonly events = new Map<string, StoredEvent[]>();
  private readonly listeners = new Map<string, Set<(e: StoredEvent) => void>>();

  constructor(private readonly now: () => Date = () => new Date()) {}

  /** Start a task; the returned task is live (its fields change as it runs). */
  start(prompt: string, runner: ServiceTaskRunner): ServiceTask {
    const id = `t-${randomBytes(6).toString("hex")}`;
    const controller = new AbortController();
    const task: ServiceTask = {
      id,
      status: "running",
      prompt: prompt.slice(0, 200),
      startedAt: this.now().toISOString(),
      endedAt: null,
      result: null,
      exitCode: null,
      error: null,
    };
    this.tasks.set(id, task);
    this.controllers.set(id, controller);
    this.events.set(id, []);
    const emit = (event: TaskEvent) => this.push(id, { type: "event", event });
    // Called now (a throw becomes a rejection), so an abort right after start reaches the runner.
    const finished = new Promise<TaskResult>((resolve) => resolve(runner(controller.signal, emit)))
      .then((result) => {
        task.result = result;
        task.status = controller.signal.aborted ? "aborted" : "done";
        task.exitCode = exitCodeFor(result);
      })
      .catch((e: unknown) => this.failed(task, controller.signal.aborted, e))
      .then(() => {
        task.endedAt = this.now().toISOString();
        this.controllers.delete(id);
        this.push(id, { type: "end", task });
        return task;
      });
    this.done.set(id, finished);
    return task;
  }

  private failed(task: ServiceTask, aborted: boolean, e: unknown): void {
    task.status = aborted ? "aborted" : "failed";
    task.error = isOcboxError(e)
      ? errorBodyOf(e)
      : { code: "UNEXPECTED", message: `unexpected error: ${errorMessage(e)}`, fix: null };
    task.exitCode = aborted ? 130 : isOcboxError(e) ? e.exitCode : 1;
  }

  private push(id: string, e: StoredEvent): void {
    this.events.get(id)?.push(e);
    for (const l of this.listeners.get(id) ?? []) l(e);
  }

  get(id: string): ServiceTask | undefined {
    return this.tasks.get(id);
  }

  list(): ServiceTask[] {
    return [...this.tasks.values()];
  }

  get running(): number {
    return this.controllers.size;
  }

  /** The events so far, then each new one until the task ends; the function returned unsubscribes. */
  follow(id: string, listener: (e: StoredEvent) => void): () => void {
    for (const e of this.events.get(id) ?? []) listener(e);
    if (this.tasks.get(id)?.endedAt) return () => undefined;
    const set = this.listeners.get(id) ?? new Set();
    set.add(listener);
    this.listeners.set(id, set);
    return () => set.delete(listener);
  }

  /** Wait until the task has ended; undefined for an unknown id. */
  async wait(id: string): Promise<ServiceTask | undefined> {
    return this.done.get(id);
  }

  /** Abort a running task and wait until it has ended (its sandbox removed); undefined for an unknown id. */
  async abort(id: string, why = "aborted through the service"): Promise<ServiceTask | undefined> {
    if (!this.tasks.has(id)) return undefined;
    this.controllers.get(id)?.abort(new Error(why));
    return this.done.get(id);
  }

  /** Abort every running task (the service is stopping). */
  async abortAll(why: string): Promise<void> {
    await Promise.all([...this.controllers.keys()].map((id) => this.abort(id, why)));
  }
}
