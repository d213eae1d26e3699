/**
 * A benchmark task's own image (issue 15, item 2): `environment/Dockerfile` built through the
 * Engine API (the context streamed, progress passed on, `build_timeout_sec` enforced), tagged by a
 * hash of its context so an unchanged task is never built twice; or a named `docker_image`, used
 * when present and pulled when not. Every task image ocbox builds carries the
 * `dev.ocbox.kind=task-image` label and the task set and task it was built for (for prune).
 *
 * A build runs the task set's own code on the engine, with network: callers list the task set's
 * files for approval before they call this (eval/task-images.ts).
 */
import { OcboxError, errorMessage } from "../errors.js";
import type { Engine } from "../runtime/engine.js";
import { LABEL } from "../runtime/labels.js";
import { buildkitOnly } from "./classic-builder.js";
import { packTaskContext, readTaskContext } from "./task-context.js";

export const TASK_IMAGE_KIND = "task-image";
export const TASK_IMAGE_REPO = "ocbox-task";

export type TaskImageSource = { kind: "dockerfile"; context: string } | { kind: "image"; image: string };

export interface TaskImageOptions {
  /** The task, for messages and the label. */
  taskId: string;
  /** The task set's folder (absolute), for the label that `ocbox eval prune` reads. */
  taskSet?: string;
  /** Cap for the build, seconds (`build_timeout_sec`). */
  timeoutS: number;
  rebuild?: boolean;
  onLine?: (line: string) => void;
  signal?: AbortSignal;
}

export interface TaskImage {
  tag: string;
  /** True when this call built (or pulled) it; false when it was already here. */
  built: boolean;
  seconds: number;
}

/** The tag of a context's image: its digest, so equal contexts share one image. Pure. */
export const taskImageTag = (digest: string) => `${TASK_IMAGE_REPO}:${digest.slice(0, 16)}`;

export async function ensureTaskImage(
  engine: Engine,
  source: TaskImageSource,
  options: TaskImageOptions,
): Promise<TaskImage> {
  const started = performance.now();
  const seconds = () => (performance.now() - started) / 1000;
  if (source.kind === "image") {
    if (!options.rebuild && (await engine.imageId(source.image)))
      return { tag: source.image, built: false, seconds: seconds() };
    options.onLine?.(`pulling ${source.image} for task ${options.taskId}`);
    await engine.pullImage(source.image, options.onLine).catch((e: unknown) => {
      throw new OcboxError("IMAGE_MISSING", `task ${options.taskId}: cannot pull ${source.image}`, {
        detail: e instanceof OcboxError && e.detail ? `${e.message}: ${e.detail}` : errorMessage(e),
        fix: "Load the image into this engine (docker load), or give the task an environment/Dockerfile whose base is here.",
      });
    });
    return { tag: source.image, built: true, seconds: seconds() };
  }
  const context = await readTaskContext(source.context);
  const file = `${source.context}/Dockerfile`;
  const bk = buildkitOnly(context.dockerfile);
  if (bk)
    throw new OcboxError("IMAGE_BUILD", `${file}:${bk.line}: ${bk.what} needs BuildKit`, {
      detail: "This engine's API builder is the classic one (Docker 20.10), which does not know it.",
      fix: "Rewrite that line for the classic builder (a plain RUN or COPY, then chmod), or use a prebuilt image with [environment] docker_image.",
    });
  const tag = taskImageTag(context.digest);
  if (!options.rebuild && (await engine.imageId(tag))) return { tag, built: false, seconds: seconds() };
  options.onLine?.(`building ${tag} for task ${options.taskId} from ${source.context}`);
  await buildWithin(engine, tag, context, options);
  return { tag, built: true, seconds: seconds() };
}

async function buildWithin(
  engine: Engine,
  tag: string,
  context: Awaited<ReturnType<typeof readTaskContext>>,
  options: TaskImageOptions,
): Promise<void> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), options.timeoutS * 1000);
  const onOuter = () => abort.abort();
  options.signal?.addEventListener("abort", onOuter, { once: true });
  try {
    await engine.buildImage(packTaskContext(context), {
      tag,
      labels: {
        [LABEL.managed]: "true",
        [LABEL.kind]: TASK_IMAGE_KIND,
        [LABEL.imageInputs]: context.digest.slice(0, 16),
        [LABEL.task]: options.taskId,
        ...(options.taskSet ? { [LABEL.taskSet]: options.taskSet } : {}),
      },
      signal: abort.signal,
      ...(options.onLine ? { onLine: options.onLine } : {}),
    });
  } catch (e) {
    if (abort.signal.aborted && !options.signal?.aborted)
      throw new OcboxError(
        "IMAGE_BUILD",
        `task ${options.taskId}: the image build took longer than ${options.timeoutS} s`,
        {
          fix: "Raise [environment] build_timeout_sec in the task's task.toml, or pass --timeout-multiplier.",
          detail: errorMessage(e),
        },
      );
    throw e;
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", onOuter);
  }
}
