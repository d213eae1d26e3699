/**
 * `ocbox serve` as a library call: a long-lived local task service that owns one set of executor
 * pools and the warm sandboxes for all its clients. A client posts the options of `ocbox run` with
 * what it resolved in its own environment; every task goes through `runTask` (entry "service"),
 * so approval, the plan and the sandbox are exactly `run`'s. Tasks that crash end as `failed` and
 * the service goes on; with the engine gone, new tasks are refused (503). `close` aborts the
 * tasks, removes the warm sandboxes and sweeps whatever else this process made.
 */
import { hostname } from "node:os";
import { ensureTokenFile } from "../bridge/token.js";
import { OcboxError, errorMessage, isOcboxError } from "../errors.js";
import { approvedTaskInputs, runTask, type RunTaskOptions } from "../executor/prepare.js";
import { Pools } from "../executor/pool.js";
import type { Engine } from "../runtime/engine.js";
import { ownerLiveness, processStart } from "../runtime/owner.js";
import { reap } from "../sandbox/reaper.js";
import { packageRoot } from "../util/paths.js";
import { OCBOX_VERSION } from "../version.js";
import { startServiceHttp, type ServiceApi } from "./http.js";
import { engineSettings } from "./protocol.js";
import { removeServiceInfo, serviceFiles, writeServiceInfo, type ServiceFiles } from "./service-files.js";
import { parseTaskRequest, taskOptionsFromRequest } from "./task-request.js";
import { TaskStore } from "./task-store.js";
import { WARM_SANDBOX_DISK_BYTES } from "./warm-budget.js";
import { ServiceWarmPools, type WarmBudget } from "./warm-pools.js";

export const DEFAULT_WARM_BUDGET: WarmBudget = {
  perProfile: 1,
  memoryBudgetBytes: 8 * 1024 ** 3,
  diskBudgetBytes: 2 * 1024 ** 3,
};

export interface ServiceOptions {
  engine: Engine;
  /** 127.0.0.1 port; default a free one. */
  port?: number;
  warm?: Partial<WarmBudget>;
  /** Where the token, service.json and log live; default from this process's XDG_STATE_HOME. */
  files?: ServiceFiles;
  /** Extra runTask options for every task (library users and tests: images). */
  taskOptions?: Partial<RunTaskOptions>;
  onLine?: (line: string) => void;
}

export interface Service {
  url: string;
  port: number;
  tokenFile: string;
  store: TaskStore;
  /** Resolves when a client asked the service to stop (POST /v1/shutdown). */
  stopRequested: Promise<void>;
  close(): Promise<void>;
}

/** Does the engine answer? A refusal names the engine and the fix (503 to the client). */
async function engineAnswers(engine: Engine): Promise<void> {
  try {
    await engine.ping();
  } catch (e) {
    if (isOcboxError(e)) throw e;
    throw new OcboxError("ENGINE_UNAVAILABLE", `the container engine does not answer: ${errorMessage(e)}`, {
      fix: "Start the engine (or fix DOCKER_HOST for `ocbox serve`), then send the task again.",
    });
  }
}

/** Remove everything this process still owns (its containers, volumes, dirs): it treats itself as gone. */
async function sweepOwn(engine: Engine, onLine: (l: string) => void): Promise<void> {
  const me = { host: hostname(), pid: process.pid, start: processStart(process.pid) ?? "" };
  const report = await reap(engine, {
    liveness: (o) =>
      o.host === me.host && o.pid === me.pid && o.start === me.start ? "dead" : ownerLiveness(o),
  });
  for (const e of report.errors) onLine(`stopping: ${e}`);
  if (report.containers.length) onLine(`stopping: removed ${report.containers.length} container(s)`);
}

export async function openService(options: ServiceOptions): Promise<Service> {
  const { engine } = options;
  const onLine = options.onLine ?? (() => undefined);
  const files = options.files ?? serviceFiles();
  const budget = { ...DEFAULT_WARM_BUDGET, ...options.warm };
  await engineAnswers(engine);
  // Leftovers of a service (or any ocbox) that was killed: gone before this one starts.
  await reap(engine);
  const { token, file: tokenFile } = await ensureTokenFile(files.token);
  const store = new TaskStore();
  const pools = new Pools();
  const warm = new ServiceWarmPools(engine, budget, onLine);
  let requestStop = () => undefined as void;
  const stopRequested = new Promise<void>((resolve) => (requestStop = resolve));
  const startedAt = new Date().toISOString();
  const api: ServiceApi = {
    store,
    submit: async (body) => {
      const task: RunTaskOptions = {
        ...options.taskOptions,
        ...taskOptionsFromRequest(parseTaskRequest(body)),
      };
      await engineAnswers(engine);
      // Not approved: refused now (400), as `ocbox run` stops before any sandbox.
      await approvedTaskInputs(task);
      const started = store.start(task.prompt ?? `(from ${task.promptFile ?? ""})`, (signal, onEvent) =>
        runTask({ ...task, engine, pools, warmPoolFor: (p) => warm.for(p), signal, onEvent }),
      );
      onLine(`task ${started.id}: started (${task.workspace})`);
      void store
        .wait(started.id)
        .then((t) => onLine(`task ${started.id}: ${t?.status ?? "?"} exit ${t?.exitCode ?? "?"}`));
      return started.id;
    },
    status: () => ({
      version: OCBOX_VERSION,
      pid: process.pid,
      startedAt,
      tasks: { running: store.running, total: store.list().length },
      pools: pools.stats(),
      warm: {
        ...budget,
        diskPerSandboxBytes: WARM_SANDBOX_DISK_BYTES,
        ready: warm.ready,
        profiles: warm.profiles,
        used: warm.use(),
      },
    }),
    shutdown: () => requestStop(),
  };
  const http = await startServiceHttp(api, {
    token,
    ...(options.port !== undefined ? { port: options.port } : {}),
  });
  await writeServiceInfo(files, {
    url: http.url,
    port: http.port,
    pid: process.pid,
    pidStart: processStart(process.pid) ?? "",
    version: OCBOX_VERSION,
    startedAt,
    root: packageRoot(),
    engine: engineSettings(process.env),
  });
  onLine(`ocbox serve ${OCBOX_VERSION} at ${http.url} (token in ${tokenFile})`);
  return {
    url: http.url,
    port: http.port,
    tokenFile,
    store,
    stopRequested,
    close: async () => {
      await removeServiceInfo(files);
      await http.close();
      await store.abortAll("the service is stopping");
      await warm.close();
      await sweepOwn(engine, onLine);
    },
  };
}
