/**
 * The images of a task set's Harbor tasks, built (or pulled) before any of them runs, one at a
 * time, each with its own `build_timeout_sec`. A task whose image cannot be made fails alone.
 *
 * A build runs the task set's own code (its Dockerfile's RUN lines) on the engine with network,
 * so the task set's capability-granting files are listed here, in one place, for the approval of
 * the task set (issue 13: kinds `task.toml` and `environment/Dockerfile`) before anything builds.
 */
import { dirname, join, resolve } from "node:path";
import { OcboxError, tail } from "../errors.js";
import { ensureTaskImage, type TaskImage } from "../image/task-image.js";
import type { Engine } from "../runtime/engine.js";
import type { TaskDef } from "./task-set.js";
import { recordTaskSets } from "./task-set-record.js";

export interface ApprovalFile {
  kind: "task.toml" | "environment/Dockerfile";
  task: string;
  path: string;
}

/** The files of the task set that approval must cover before its images build. Pure. */
export function taskSetApprovalFiles(tasks: readonly TaskDef[]): ApprovalFile[] {
  return tasks.flatMap((t): ApprovalFile[] => {
    const env = t.harbor?.environment;
    if (!env) return [];
    const toml: ApprovalFile = { kind: "task.toml", task: t.id, path: join(t.dir, "task.toml") };
    if (env.kind === "image") return [toml];
    return [toml, { kind: "environment/Dockerfile", task: t.id, path: join(env.context, "Dockerfile") }];
  });
}

export type TaskImageOutcome = ({ ok: true } & TaskImage) | { ok: false; error: string };

export interface TaskImagesOptions {
  rebuild?: boolean;
  onLine?: (task: string, line: string) => void;
  signal?: AbortSignal;
  /**
   * Approval of the task set's files (issue 13), called once with every file before the first
   * build; it throws to refuse. The call site is here so that no build can start without it.
   */
  approve?: (files: ApprovalFile[]) => Promise<void>;
  /** Where the state dir is (the record of task sets that use task images); default process.env. */
  env?: NodeJS.ProcessEnv;
}

export async function buildTaskImages(
  engine: Engine,
  tasks: readonly TaskDef[],
  options: TaskImagesOptions = {},
): Promise<Map<string, TaskImageOutcome>> {
  await options.approve?.(taskSetApprovalFiles(tasks));
  const sets = [...new Set(tasks.filter((t) => t.harbor).map((t) => dirname(resolve(t.dir))))];
  if (sets.length) await recordTaskSets(sets, options.env);
  const out = new Map<string, TaskImageOutcome>();
  for (const t of tasks) {
    const h = t.harbor;
    if (!h) continue;
    if (options.signal?.aborted) break;
    try {
      const image = await ensureTaskImage(engine, h.environment, {
        taskId: t.id,
        taskSet: dirname(resolve(t.dir)),
        timeoutS: h.toml.environment.build_timeout_sec,
        ...(options.rebuild ? { rebuild: true } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.onLine ? { onLine: (line: string) => options.onLine?.(t.id, line) } : {}),
      });
      out.set(t.id, { ok: true, ...image });
    } catch (e) {
      const own = e instanceof OcboxError && (e.code === "IMAGE_BUILD" || e.code === "IMAGE_MISSING");
      if (!own || options.signal?.aborted) throw e;
      out.set(t.id, {
        ok: false,
        error: [e.message, e.detail ? tail(e.detail, 10) : "", e.fix ? `fix: ${e.fix}` : ""]
          .filter(Boolean)
          .join("\n"),
      });
    }
  }
  return out;
}
