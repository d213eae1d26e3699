import { spawn } from "node:child_process";
import { appendFileSync, mkdirSync, openSync } from "node:fs";
import { InvalidArgumentError, type Command } from "commander";
import { parseMemory } from "../../config/limits.js";
import { OcboxError } from "../../errors.js";
import { serviceLog, serviceStatus, stopService } from "../../service/client.js";
import {
  readServiceInfo,
  serviceFiles,
  type ServiceFiles,
  type ServiceInfo,
} from "../../service/service-files.js";
import { DEFAULT_WARM_BUDGET, openService } from "../../service/service.js";
import {
  budgetLines,
  WARM_SANDBOX_DISK_BYTES,
  type WarmBudget,
  type WarmUse,
} from "../../service/warm-budget.js";
import type { Context } from "../context.js";
import { parsePort } from "../flags.js";

interface ServeFlags {
  port?: number;
  detach?: boolean;
  warm?: number;
  warmMemory?: number;
  warmDisk?: number;
}

/** Set in a detached service's environment: its output goes to serve.log only. */
const DETACHED_VAR = "OCBOX_SERVE_DETACHED";

const count = (text: string) => {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError("a whole number ≥ 0");
  return n;
};
const memory = (text: string) => {
  const n = parseMemory(text);
  if (n === undefined) throw new InvalidArgumentError('a memory size such as "8g" or "4096m"');
  return n;
};

const GiB = 1024 ** 3;

export function registerServe(program: Command, run: (fn: (ctx: Context) => Promise<number>) => void) {
  const serve = program
    .command("serve")
    .description(
      "a local task service (HTTP JSON API on 127.0.0.1, bearer token) that runs `ocbox run` tasks warm",
    )
    .option("--port <n>", "port on 127.0.0.1 (default: a free port)", parsePort)
    .option("--detach", "run in the background (output in the state dir's serve/serve.log)")
    .option(
      "--warm <n>",
      `warm sandboxes kept per sandbox profile (default ${DEFAULT_WARM_BUDGET.perProfile})`,
      count,
    )
    .option(
      "--warm-memory <size>",
      `the warm sandboxes' memory budget, counted at each one's memory limit (default ${DEFAULT_WARM_BUDGET.memoryBudgetBytes / GiB}g)`,
      memory,
    )
    .option(
      "--warm-disk <size>",
      `the warm sandboxes' disk budget, each counted at ${WARM_SANDBOX_DISK_BYTES / 1024 ** 2} MiB (default ${DEFAULT_WARM_BUDGET.diskBudgetBytes / GiB}g)`,
      memory,
    )
    .action((flags: ServeFlags) =>
      run((ctx) => (flags.detach ? detach(ctx, flags) : foreground(ctx, flags))),
    );
  serve
    .command("status")
    .description("is this user's ocbox serve running: its URL, version, tasks, pools and warm sandboxes")
    .action(() =>
      run(async (ctx) => {
        const status = await serviceStatus();
        ctx.out.result(status ?? { running: false }, () =>
          status ? statusLines(status) : "ocbox serve is not running (start it: ocbox serve --detach)",
        );
        return status ? 0 : 1;
      }),
    );
  serve
    .command("stop")
    .description("stop this user's ocbox serve (its tasks are aborted, every container it made removed)")
    .action(() =>
      run(async (ctx) => {
        const r = await stopService();
        ctx.out.result(r, (x) =>
          x.stopped ? `stopped ocbox serve (pid ${x.pid ?? ""})` : "ocbox serve was not running",
        );
        return 0;
      }),
    );
  serve
    .command("logs")
    .description("print the service's log (the state dir's serve/serve.log)")
    .option("-n, --lines <n>", "the last n lines (default 200)", count)
    .action((o: { lines?: number }) =>
      run(async (ctx) => {
        const text = await serviceLog(serviceFiles(), o.lines ?? 200);
        ctx.out.result({ log: text }, (r) => r.log.replace(/\n$/, ""));
        return 0;
      }),
    );
}

interface StatusView {
  url: string;
  version: string;
  pid: number;
  startedAt: string;
  tasks: { running: number; total: number };
  warm: WarmBudget & { ready: number; profiles: number; used: WarmUse };
}

/** `ocbox serve status` for a person: where, which, tasks, and the warm budget with its use. */
function statusLines(status: Record<string, unknown>): string[] {
  const s = status as unknown as StatusView;
  return [
    `ocbox serve ${s.version} at ${s.url} (pid ${s.pid}, since ${s.startedAt})`,
    `tasks: ${s.tasks.running} running, ${s.tasks.total} in all`,
    ...budgetLines(s.warm, s.warm.used, s.warm.ready, s.warm.profiles),
  ];
}

function logLine(files: ServiceFiles, ctx: Context): (line: string) => void {
  const detached = process.env[DETACHED_VAR] === "1";
  mkdirSync(files.dir, { recursive: true, mode: 0o700 });
  return (line) => {
    appendFileSync(files.log, `${new Date().toISOString()} ${line}\n`, { mode: 0o600 });
    if (!detached) ctx.out.info(line);
  };
}

async function foreground(ctx: Context, flags: ServeFlags): Promise<number> {
  const files = serviceFiles();
  const running = await readServiceInfo(files);
  if (running)
    throw new OcboxError(
      "USAGE",
      `ocbox serve ${running.version} is already running at ${running.url} (pid ${running.pid})`,
      {
        fix: "Use it, or stop it first: ocbox serve stop",
      },
    );
  const service = await openService({
    engine: ctx.engine(),
    files,
    onLine: logLine(files, ctx),
    ...(flags.port !== undefined ? { port: flags.port } : {}),
    warm: {
      ...(flags.warm !== undefined ? { perProfile: flags.warm } : {}),
      ...(flags.warmMemory !== undefined ? { memoryBudgetBytes: flags.warmMemory } : {}),
      ...(flags.warmDisk !== undefined ? { diskBudgetBytes: flags.warmDisk } : {}),
    },
  });
  ctx.out.result({ url: service.url, tokenFile: service.tokenFile, pid: process.pid }, (r) => [
    `ocbox serve at ${r.url}`,
    `  bearer token  in ${r.tokenFile} (send \`Authorization: Bearer <token>\`)`,
    `  API           ${r.url}/openapi.json`,
    "serving until Ctrl+C, SIGTERM or `ocbox serve stop`",
  ]);
  await Promise.race([
    service.stopRequested,
    new Promise((resolve) => ctx.signal.addEventListener("abort", resolve, { once: true })),
  ]);
  await service.close();
  return 0;
}

/** Start `ocbox serve` (same flags) in the background and wait until it answers. */
async function detach(ctx: Context, flags: ServeFlags): Promise<number> {
  const files = serviceFiles();
  mkdirSync(files.dir, { recursive: true, mode: 0o700 });
  const log = openSync(files.log, "a", 0o600);
  const args = [
    ...(flags.port !== undefined ? ["--port", String(flags.port)] : []),
    ...(flags.warm !== undefined ? ["--warm", String(flags.warm)] : []),
    ...(flags.warmMemory !== undefined ? ["--warm-memory", `${Math.ceil(flags.warmMemory / 1024)}k`] : []),
    ...(flags.warmDisk !== undefined ? ["--warm-disk", `${Math.ceil(flags.warmDisk / 1024)}k`] : []),
  ];
  const child = spawn(process.execPath, [process.argv[1] ?? "", "serve", ...args], {
    detached: true,
    stdio: ["ignore", log, log],
    env: { ...process.env, [DETACHED_VAR]: "1", NO_COLOR: "1" },
  });
  let exited: number | null | undefined;
  child.once("exit", (code) => (exited = code));
  const info = await waitForService(files, child.pid ?? -1, () => exited, ctx.signal);
  child.unref();
  ctx.out.result({ url: info.url, pid: info.pid, tokenFile: files.token, log: files.log }, (r) => [
    `ocbox serve at ${r.url} (pid ${r.pid}, detached)`,
    `  bearer token  in ${r.tokenFile}`,
    `  log           ${r.log} (ocbox serve logs)`,
  ]);
  return 0;
}

async function waitForService(
  files: ServiceFiles,
  pid: number,
  exited: () => number | null | undefined,
  signal: AbortSignal,
): Promise<ServiceInfo> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline && !signal.aborted) {
    const info = await readServiceInfo(files);
    if (info?.pid === pid) return info;
    const code = exited();
    if (code !== undefined)
      throw new OcboxError(
        "UNEXPECTED",
        `the detached ocbox serve exited (code ${code}) before it answered`,
        {
          detail: await serviceLog(files, 20),
          fix: "See `ocbox serve logs`.",
        },
      );
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new OcboxError("UNEXPECTED", "the detached ocbox serve did not come up within 120 s", {
    fix: "See `ocbox serve logs`.",
  });
}
