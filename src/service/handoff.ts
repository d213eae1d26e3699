/**
 * `ocbox run` hands its task to this user's running `ocbox serve` (issue 16): the client finds
 * the service in the state dir, resolves what the task reads from its environment (the cwd, the
 * env the env rules and gateways read, `--approve-config`) and posts it with `?attach=1`; the
 * answer is the task's event stream, ending with the task (its TaskResult or its error). Ctrl+C
 * aborts the task in the service and waits until its sandbox is gone; a client that dies closes
 * the stream, which aborts the task too.
 *
 * Only light modules here (no zod, no engine client, no fetch): this is the whole client path.
 */
import { readFile } from "node:fs/promises";
import { OcboxError, errorMessage } from "../errors.js";
import type { RunTaskOptions } from "../executor/prepare.js";
import type { TaskEvent } from "../executor/task-run.js";
import { packageRoot } from "../util/paths.js";
import { OCBOX_VERSION } from "../version.js";
import { jsonBody, serviceRequest, sseEvents, type ServiceEndpoint } from "./http-client.js";
import { engineSettings, errorFromBody, type ErrorBody } from "./protocol.js";
import { readServiceInfo, serviceFiles, type ServiceFiles, type ServiceInfo } from "./service-files.js";
import type { TaskRequestBody } from "./task-request.js";
import type { ServiceTask } from "./task-store.js";

/** Set to 1 (or any value but 0 and empty): `ocbox run` never hands its task over (as --no-serve). */
export const NO_SERVE_ENV = "OCBOX_NO_SERVE";

export const noServeInEnv = (env: NodeJS.ProcessEnv): boolean => {
  const v = env[NO_SERVE_ENV]?.trim() ?? "";
  return v !== "" && v !== "0";
};

/** Who this client is, for the choice: its version, its install, its engine settings. */
export interface ClientIdentity {
  version: string;
  root: string;
  engine: Record<string, string>;
}

export const thisClient = (env: NodeJS.ProcessEnv = process.env): ClientIdentity => ({
  version: OCBOX_VERSION,
  root: packageRoot(),
  engine: engineSettings(env),
});

export type HandoffTarget =
  | { kind: "service"; info: ServiceInfo }
  /** Run here; `notice` says why when a live service was there (none: no service, say nothing). */
  | { kind: "here"; notice?: string };

const sameSettings = (a: Record<string, string>, b: Record<string, string>) =>
  JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());

const shown = (settings: Record<string, string>) =>
  Object.entries(settings)
    .map(([k, v]) => `${k}=${v}`)
    .join(" ") || "the defaults";

/** Hand over to the live service in service.json, or run here (and why). Pure. */
export function handoffTarget(info: ServiceInfo | undefined, me: ClientIdentity): HandoffTarget {
  if (!info) return { kind: "here" };
  const who = `ocbox: the running service (pid ${info.pid})`;
  if (info.version !== me.version || info.root !== me.root)
    return {
      kind: "here",
      notice: `${who} is ocbox ${info.version} of ${info.root ?? "an older install"}, not this ocbox ${me.version} of ${me.root}; running the task here`,
    };
  const engine = info.engine ?? {};
  if (!sameSettings(engine, me.engine))
    return {
      kind: "here",
      notice: `${who} uses other engine settings (${shown(engine)}; here ${shown(me.engine)}); running the task here`,
    };
  return { kind: "service", info };
}

/** The request body for `options`, resolved in this process: its cwd and its environment. Pure. */
export function handoffRequest(
  options: RunTaskOptions,
  cwd: string,
  env: NodeJS.ProcessEnv,
): TaskRequestBody {
  const t = options.timeouts ?? {};
  const clientEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) clientEnv[k] = v;
  return {
    cwd,
    workspace: options.workspace,
    ...(options.prompt !== undefined ? { prompt: options.prompt } : {}),
    ...(options.promptFile !== undefined ? { promptFile: options.promptFile } : {}),
    ...(options.role ? { role: options.role } : {}),
    ...(options.model ? { model: options.model } : {}),
    ...(options.workflowFile ? { workflow: options.workflowFile } : {}),
    ...(options.taskId ? { taskId: options.taskId } : {}),
    ...(t.hardS !== undefined ? { timeout: t.hardS } : {}),
    ...(t.inactivityS !== undefined ? { inactivity: t.inactivityS ?? 0 } : {}),
    ...(options.permissions ? { permissions: options.permissions } : {}),
    ...(options.maxRetriesOnMalformedOutput !== undefined
      ? { retries: options.maxRetriesOnMalformedOutput }
      : {}),
    ...(options.structuredOutput !== undefined ? { structuredOutput: options.structuredOutput } : {}),
    ...(options.structurer?.enabled !== undefined ? { structurer: options.structurer.enabled } : {}),
    ...(options.approveConfig ? { approveConfig: true } : {}),
    ...(options.copy ? { copy: true } : {}),
    env: clientEnv,
  };
}

/** The live service to hand over to, with its token; or why not (a notice), or nothing. */
export async function findService(
  me: ClientIdentity,
  files: ServiceFiles = serviceFiles(),
): Promise<{ to: ServiceEndpoint; info: ServiceInfo } | { notice?: string }> {
  const target = handoffTarget(await readServiceInfo(files), me);
  if (target.kind === "here") return target.notice ? { notice: target.notice } : {};
  const token = await readFile(files.token, "utf8").catch((e: NodeJS.ErrnoException) => {
    if (e.code === "ENOENT" || e.code === "EACCES") return undefined;
    throw e;
  });
  if (token === undefined)
    return {
      notice: `ocbox: the running service (pid ${target.info.pid}) has no readable token; running the task here`,
    };
  return { to: { url: target.info.url, token: token.trim() }, info: target.info };
}

/** The service could not be reached before it took the task: the caller runs the task itself. */
export class ServiceUnreachable extends Error {}

export interface HandoffCallbacks {
  signal?: AbortSignal;
  /** The service took the task (its id). */
  onStarted?: (id: string) => void;
  onEvent?: (e: TaskEvent) => void;
}

/**
 * Post the task attached and follow it to its end: the ended task (`result`, or `error` for what
 * stopped it). A refusal (bad config, not approved, no engine) throws the service's error as this
 * process would have thrown it. ServiceUnreachable: nothing was started.
 */
export async function runInService(
  to: ServiceEndpoint,
  body: TaskRequestBody,
  cb: HandoffCallbacks = {},
): Promise<ServiceTask> {
  const res = await serviceRequest(to, "POST", "/v1/tasks?attach=1", body).catch((e: unknown) => {
    throw new ServiceUnreachable(errorMessage(e));
  });
  if (res.statusCode !== 200) {
    const answer = await jsonBody<{ error?: ErrorBody }>(res);
    if (answer.error) throw errorFromBody(answer.error);
    throw new ServiceUnreachable(`HTTP ${res.statusCode ?? "?"} without an error`);
  }
  let id: string | undefined;
  const abort = () => {
    if (id === undefined) return;
    void serviceRequest(to, "POST", `/v1/tasks/${id}/abort`).then(
      (r) => r.resume(),
      () => res.destroy(),
    );
  };
  cb.signal?.addEventListener("abort", abort, { once: true });
  try {
    for await (const { event, data } of sseEvents(res)) {
      if (event === "started") {
        id = (data as ServiceTask).id;
        cb.onStarted?.(id);
        if (cb.signal?.aborted) abort();
      } else if (event === "task") cb.onEvent?.(data as TaskEvent);
      else if (event === "end") return data as ServiceTask;
    }
  } finally {
    cb.signal?.removeEventListener("abort", abort);
  }
  throw new OcboxError("ENGINE_UNAVAILABLE", "ocbox serve stopped before the task ended", {
    fix: "See `ocbox serve logs`; run the task again (with --no-serve to run it here).",
  });
}
