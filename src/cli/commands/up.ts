import { appendFile } from "node:fs/promises";
import { join } from "node:path";
import type { Command } from "commander";
import { OcboxError } from "../../errors.js";
import { formatUptime } from "../../project/sandbox-list.js";
import { logFileName } from "../../util/state-layout.js";
import { mcpSummaryLines } from "../../plan/mcp-servers.js";
import { startupSummary } from "../../project/summary.js";
import { securityProfile } from "../../sandbox/profile.js";
import type { EngineCapabilities } from "../../runtime/engine-capabilities.js";
import { upProject } from "../../project/up.js";
import { endSession } from "../../project/session-edits.js";
// The foreground's parts (the log stream, monitors, the login front, the session's end) and the
// detached relay load when they run: `up --detach` reads none of them on its way to ready.
import type { startWebFront } from "../../project/web-front.js";
import type { StartedSandbox } from "../../sandbox/start.js";
import { WORKSPACE } from "../../image/dockerfile.js";
import { webSessionPath } from "../../opencode/web-route.js";
import { terminalAsk } from "../ask.js";
import type { Context } from "../context.js";
import { style, terminalLine } from "../output.js";
import { printUpPlan } from "./plan.js";
import { COPY_HELP, parsePort } from "../flags.js";
import { traced } from "../../util/trace.js";

interface UpFlags {
  detach?: boolean;
  approveHook?: boolean;
  approveConfig?: boolean;
  autonomous?: boolean;
  port?: number;
  dryRun?: boolean;
  copy?: boolean;
}

export function registerUp(program: Command, run: (fn: (ctx: Context) => Promise<number>) => void) {
  program
    .command("up")
    .description(
      "start the project's sandbox (or reattach to it), print how to log in, stream its logs; Ctrl+C stops it",
    )
    .option("-d, --detach", "return once the sandbox is ready; `ocbox down` stops it")
    .option(
      "--approve-hook",
      "approve a changed pre-start hook, ocbox.yaml or opencode.json(c) without asking",
    )
    .option("--approve-config", "the same as --approve-hook")
    .option("--autonomous", "approve every OpenCode permission inside (hardening and egress unchanged)")
    .option("--port <n>", "host port of the server (default: ports.server, else a free port)", parsePort)
    .option("--copy", `${COPY_HELP}; \`ocbox sync\` brings it back, \`ocbox down\` syncs first`)
    .option(
      "--dry-run",
      "print the resolved plan (as `ocbox plan --entry up`; the hook does not run) and start nothing",
    )
    .action((opts: UpFlags) => run((ctx) => upAction(ctx, opts)));
}

type Up = Awaited<ReturnType<typeof upProject>>;
type Started = Exclude<Up, { kind: "running" }>;

async function upAction(ctx: Context, opts: UpFlags): Promise<number> {
  if (opts.dryRun) return printUpPlan(ctx, opts);
  const ask = terminalAsk(false);
  const up = await upProject(ctx.engine(), {
    cwd: process.cwd(),
    detach: opts.detach ?? false,
    approveHook: opts.approveHook ?? false,
    approveConfig: opts.approveConfig ?? false,
    ...(opts.autonomous ? { autonomous: true } : {}),
    ...(ask ? { ask } : {}),
    ...(opts.port !== undefined ? { port: opts.port } : {}),
    ...(opts.copy ? { copy: true } : {}),
    signal: ctx.signal,
    onLine: (l) => ctx.out.debug(l),
  });
  if (up.kind === "running") return showRunning(ctx, up.row, opts);
  const { sandbox, state } = up;
  const logFile = join(state.logsDir, logFileName(new Date(), sandbox.spec.runId));
  const inside = sandbox.spec.workspaceTarget ?? WORKSPACE;
  const front = opts.detach
    ? undefined
    : await frontOn(sandbox, { landing: webSessionPath(inside), openDirectory: inside });
  const capabilities = await traced("up.capabilities", () => ctx.engine().capabilities());
  const summary = startedSummary(up, front, opts, capabilities);
  ctx.out.result(summary, (s) => startupSummary(s));
  // Loud, every time, and on stderr even with --json (C8).
  if ((summary.security.unsafe.length > 0 || summary.egressWarnings.length > 0) && ctx.out.json) {
    for (const l of startupSummary(summary).filter((x) => x.includes("WARNING"))) ctx.out.notice(l.trim());
  }
  if (opts.detach) {
    await traced("up.keep-log", () =>
      appendFile(logFile, `${sandbox.recentLogs().join("\n")}\n`, { mode: 0o600 }),
    );
    // With exec relays, the ways back would end with this process: a detached relay takes them.
    if (sandbox.reverseTargets.length > 0) {
      const { startDetachedRelay } = await import("../../project/detached-relay.js");
      const relay = await startDetachedRelay(state.dir, {
        sandboxId: sandbox.spec.sandboxId,
        runId: sandbox.spec.runId,
        egressId: sandbox.egressId,
        targets: [...sandbox.reverseTargets],
      });
      if (relay.state === "running")
        ctx.out.info(`relay: pid ${relay.pid} carries ${relay.targets} way(s) back; \`ocbox down\` stops it`);
    }
    return 0;
  }

  return runForeground(ctx, up, front, logFile);
}

/** The sandbox was up already: say where, and stream its log unless detached. */
async function showRunning(
  ctx: Context,
  r: Extract<Up, { kind: "running" }>["row"],
  opts: UpFlags,
): Promise<number> {
  ctx.out.result({ ...r, status: "already-running" }, () => [
    `sandbox ${r.sandboxId} is already up (${r.state}, ${formatUptime(r.uptimeS)}) ${r.url ? `at ${r.url}` : "over exec relays"}`,
    "`ocbox web` opens the web UI logged in; `ocbox down` stops it",
  ]);
  if (opts.detach) return 0;
  ctx.out.info("streaming its log; Ctrl+C stops streaming (the sandbox keeps running)");
  await ctx
    .engine()
    .followLogs(r.agentId, (line) => process.stdout.write(`${terminalLine(line)}\n`), ctx.signal);
  return 0;
}

/** The foreground: monitors, the log streamed and kept until Ctrl+C or the sandbox's end, then the stop. */
async function runForeground(
  ctx: Context,
  up: Started,
  front: Awaited<ReturnType<typeof startWebFront>> | undefined,
  logFile: string,
): Promise<number> {
  const { sandbox, project, state } = up;
  const [{ anyMonitorOn, startMonitors }, { stopUpSandbox }, { copyLines }, { hostExecutedWarnings }] =
    await Promise.all([
      import("../../monitor/run-monitors.js"),
      import("../../project/down.js"),
      import("./down.js"),
      import("../../sandbox/host-executed-edits.js"),
    ]);
  // G1: the monitors run in this process, on the host, while the sandbox is in the foreground.
  const monitors = anyMonitorOn(project.config.monitors)
    ? startMonitors(
        ctx.engine(),
        {
          sandboxId: project.sandboxId,
          runId: sandbox.spec.runId,
          agentId: sandbox.agentId,
          stateDir: state.dir,
        },
        project.config.monitors,
      )
    : undefined;
  if (monitors) ctx.out.info(`monitors: ${monitors.names.join(", ")} → ${state.dir}/monitors/`);
  // Foreground: stream the log (and keep it in the state dir) until Ctrl+C or the sandbox dies.
  let pending = Promise.resolve();
  const keep = (line: string) => {
    pending = pending.then(() => appendFile(logFile, `${line}\n`).catch(() => undefined));
    if (!ctx.out.json) process.stdout.write(`${terminalLine(line)}\n`);
  };
  // A failed follow ends the stream like an exit; the state below says which it was.
  const followError = await ctx
    .engine()
    .followLogs(sandbox.agentId, keep, ctx.signal)
    .then(
      () => undefined,
      (e: unknown) => (e instanceof Error ? e : new Error(String(e))),
    );
  await pending;
  await monitors?.stop();
  await front?.close();
  const state2 = await ctx.engine().containerState(sandbox.agentId);
  // Copy mode: the agent's work comes back first; a failed sync keeps the volume and says so.
  const copy = await stopUpSandbox(ctx.engine(), sandbox, state);
  for (const l of copyLines(copy)) ctx.out.notice(l);
  // The session is over: what the agent left for the host to run, loud even with --json.
  const edits = await endSession(state);
  for (const l of hostExecutedWarnings(edits ?? [])) ctx.out.notice(style.yellow(l));
  if (ctx.out.json && edits)
    ctx.out.result({ runId: sandbox.spec.runId, hostExecutedEdits: edits }, () => []);
  if (followError !== undefined) throw followError;
  if (!ctx.signal.aborted) {
    throw new OcboxError(
      "SANDBOX_NOT_READY",
      `the sandbox stopped on its own (exit code ${state2?.exitCode ?? "?"})`,
      {
        detail: `its log is in ${logFile}`,
        fix: "Read the log; `ocbox up` starts a fresh sandbox.",
      },
    );
  }
  ctx.out.info("sandbox stopped and removed; its state stays");
  return 0;
}

/** The login front on this machine's loopback (through a local relay with the "exec" transport). */
async function frontOn(sandbox: StartedSandbox, options: { landing: string; openDirectory: string }) {
  const local = await sandbox.localServer();
  const { startWebFront } = await import("../../project/web-front.js");
  const front = await startWebFront({ url: local.url, password: sandbox.server.password }, options).catch(
    async (e: unknown) => {
      await local.close();
      throw e;
    },
  );
  return { ...front, close: () => front.close().finally(() => local.close()) };
}

/** What `ocbox up` prints (and --json returns) once the sandbox is ready. */
function startedSummary(
  up: Started,
  front: Awaited<ReturnType<typeof startWebFront>> | undefined,
  opts: UpFlags,
  capabilities: EngineCapabilities,
) {
  const { sandbox, project, state } = up;
  return {
    sandboxId: project.sandboxId,
    runId: sandbox.spec.runId,
    project: project.root,
    inside: sandbox.spec.workspaceTarget ?? WORKSPACE,
    url: sandbox.transport === "exec" ? "over exec relays (engine connection)" : sandbox.server.url,
    port: sandbox.port,
    transport: sandbox.transport,
    readyS: sandbox.timings.healthyMs / 1000,
    env: { passed: up.env.passed, skipped: up.env.skipped },
    forwardPorts: sandbox.spec.forwardPorts,
    volumes: (sandbox.spec.cacheVolumes ?? []).map((v) => ({ path: v.path, volume: v.name })),
    stateDir: state.dir,
    detached: opts.detach ?? false,
    hookRan: up.hookRan,
    ...(front ? { loginUrl: front.loginUrl() } : {}),
    security: securityProfile(sandbox.spec, capabilities),
    autonomous: project.config.autonomous,
    mcp: mcpSummaryLines(up.mcp),
    egressWarnings: up.egressWarnings,
    workspace: up.workspace,
  };
}
