/**
 * The bridge's delegated tasks: each one runs through an injected runner (the executor in
 * practice) and is kept in memory for `task_status`. Pure apart from the runner it is handed.
 */
import { randomBytes } from "node:crypto";
import { errorMessage } from "../errors.js";
import type { TaskResult } from "../executor/task.js";

export interface DelegateInput {
  prompt: string;
  role?: string;
  model?: string;
}

export type TaskRunner = (input: DelegateInput, signal: AbortSignal) => Promise<TaskResult>;

export type BridgeTaskStatus = "running" | "done" | "aborted" | "failed";

export interface BridgeTask {
  id: string;
  status: BridgeTaskStatus;
  /** The prompt's first 200 characters. */
  prompt: string;
  role: string | null;
  model: string | null;
  startedAt: string;
  endedAt: string | null;
  result: TaskResult | null;
  /** Why the task could not run (bad role, no engine …); agent-side failures are in `result`. */
  error: string | null;
}

export class TaskRegistry {
  private readonly tasks = new Map<string, BridgeTask>();
  private readonly controllers = new Map<string, AbortController>();
  private readonly done = new Map<string, Promise<BridgeTask>>();

  constructor(
    private readonly runner: TaskRunner,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Start a task; `finished` settles when it ends (never rejects). */
  start(input: DelegateInput): { task: BridgeTask; finished: Promise<BridgeTask> } {
    const id = `t-${randomBytes(6).toString("hex")}`;
    const controller = new AbortController();
    const task: BridgeTask = {
      id,
      status: "running",
      prompt: input.prompt.slice(0, 200),
      role: input.role ?? null,
      model: input.model ?? null,
      startedAt: this.now().toISOString(),
      endedAt: null,
      result: null,
      error: null,
    };
    this.tasks.set(id, task);
    this.controllers.set(id, controller);
    const finished = this.runner(input, controller.signal)
      .then((result) => {
        task.result = result;
        task.status = controller.signal.aborted ? "aborted" : "done";
      })
      .catch((e: unknown) => {
        task.status = controller.signal.aborted ? "aborted" : "failed";
        task.error = errorMessage(e);
      })
      .then(() => {
        task.endedAt = this.now().toISOString();
        this.controllers.delete(id);
        return task;
      });
    this.done.set(id, finished);
    return { task, finished };
  }

  get(id: string): BridgeTask | undefined {
    return this.tasks.get(id);
  }

  list(): BridgeTask[] {
    return [...this.tasks.values()];
  }

  /** Abort a running task and wait until it has ended; undefined for an unknown id. */
  async abort(id: string): Promise<BridgeTask | undefined> {
    const task = this.tasks.get(id);
    if (!task) return undefined;
    this.controllers.get(id)?.abort(new Error("aborted through the bridge"));
    return (await this.done.get(id)) ?? task;
  }

  /** Abort every running task (the bridge is closing). */
  async abortAll(): Promise<void> {
    await Promise.all(
      this.list()
        .filter((t) => t.status === "running")
        .map((t) => this.abort(t.id)),
    );
  }
}
