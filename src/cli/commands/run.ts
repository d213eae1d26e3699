/**
 * `ocbox run`: one task, here or, when this user's `ocbox serve` is running (same version and
 * install, same engine settings), handed to it (service/handoff.ts): the same output and exit
 * code either way. The client path loads no engine client, zod or executor: those come with
 * `runHere` only.
 */
import type { Command } from "commander";
import { OcboxError } from "../../errors.js";
import { PERMISSION_POLICIES, type PermissionPolicy } from "../../executor/permission-policy.js";
import type { RunTaskOptions } from "../../executor/prepare.js";
import type { TaskEvent } from "../../executor/task-run.js";
import { exitCodeFor, type TaskResult } from "../../executor/task.js";
import { hostExecutedWarnings } from "../../sandbox/host-executed-edits.js";
import {
  findService,
  handoffRequest,
  noServeInEnv,
  NO_SERVE_ENV,
  runInService,
  ServiceUnreachable,
  thisClient,
} from "../../service/handoff.js";
import { errorFromBody } from "../../service/protocol.js";
import type { Context } from "../context.js";
import { APPROVE_CONFIG_HELP, COPY_HELP, secondsFlag } from "../flags.js";
import { style } from "../output.js";

interface RunFlags {
  workspace: string;
  prompt?: string;
  promptFile?: string;
  role?: string;
  model?: string;
  workflow?: string;
  taskId?: string;
  timeout?: string;
  inactivity?: string;
  permissions?: string;
  structuredOutput: boolean;
  structurer: boolean;
  retries?: string;
  dryRun?: boolean;
  approveConfig?: boolean;
  copy?: boolean;
  /** false with --no-serve. */
  serve: boolean;
}

export function registerRun(
  program: Command,
  run: (fn: (ctx: Context) => Promise<number>, options?: { lazyEngine?: boolean }) => void,
) {
  program
    .command("run")
    .description("run one agent task in a fresh sandbox and print a typed result (exit 0 = COMPLETE)")
    .requiredOption("-w, --workspace <dir>", "the task's workspace (edited in place)")
    .option("-p, --prompt <text>", "the task")
    .option("-f, --prompt-file <file>", "read the task from a file")
    .option("-r, --role <name>", "a role from ocbox.yaml's roles: (or --workflow)")
    .option("-m, --model <provider/model>", "the model, overriding the role and the configs")
    .option(
      "--workflow <file>",
      "a file with roles:, pools: and executor: (default: the project's ocbox.yaml)",
    )
    .option("--task-id <id>", "a name for the task, used in container names")
    .option("--timeout <s>", "hard cap in seconds (default 7200)")
    .option(
      "--inactivity <s>",
      "end the task after this many seconds without agent activity (default 1200; 0 disables)",
    )
    .option(
      "--permissions <policy>",
      "answer OpenCode's permission asks: reject (default) or autonomous (allow each)",
    )
    .option("--retries <n>", "re-prompts after unparseable output (default 2)")
    .option(
      "--no-structured-output",
      "use the schema instruction block instead of OpenCode's structured output",
    )
    .option("--no-structurer", "do not ask the structurer model to recover a narrative answer")
    .option("--copy", COPY_HELP)
    .option("--approve-config", APPROVE_CONFIG_HELP)
    .option("--dry-run", "print the resolved plan (as `ocbox plan`) and start nothing")
    .option(
      "--no-serve",
      `run the task here even when this user's \`ocbox serve\` is running (also ${NO_SERVE_ENV}=1)`,
    )
    .action((flags: RunFlags) =>
      run(
        async (ctx) => {
          const options = runOptionsFromFlags(flags);
          if (flags.dryRun) {
            const [{ dryPlanTask }, { printPlan }] = await Promise.all([
              import("../../executor/dry-plan.js"),
              import("./plan.js"),
            ]);
            return printPlan(ctx, await dryPlanTask(options));
          }
          const handed = flags.serve && !noServeInEnv(process.env) ? await handOff(ctx, options) : undefined;
          return handed ?? (await runHere(ctx, options));
        },
        { lazyEngine: true },
      ),
    );
}

/** E13: the resolved endpoint and model are always logged; phases with --verbose. */
const renderEvent = (ctx: Context) => (e: TaskEvent) => {
  if (e.phase === "model" || e.phase === "warning") ctx.out.notice(e.message);
  else if (e.phase === "log") ctx.out.debug(`  ${e.message}`);
  else ctx.out.debug(`[${e.phase}] ${e.message}`);
};

function printResult(ctx: Context, result: TaskResult): number {
  // Loud on stderr with --json too: the JSON has them as `hostExecutedEdits`.
  if (ctx.out.json) for (const l of hostExecutedWarnings(result.hostExecutedEdits ?? [])) ctx.out.notice(l);
  ctx.out.result(result, resultLines);
  return exitCodeFor(result);
}

async function runHere(ctx: Context, options: RunTaskOptions): Promise<number> {
  const [{ runTask }, engine] = await Promise.all([import("../../executor/prepare.js"), ctx.loadEngine()]);
  const result = await runTask({ ...options, engine, signal: ctx.signal, onEvent: renderEvent(ctx) });
  return printResult(ctx, result);
}

/** The task in this user's running service; undefined: none to hand it to (run it here). */
async function handOff(ctx: Context, options: RunTaskOptions): Promise<number | undefined> {
  const found = await findService(thisClient());
  if (!("to" in found)) {
    if (found.notice) ctx.out.notice(found.notice);
    return undefined;
  }
  const { to, info } = found;
  try {
    const task = await runInService(to, handoffRequest(options, process.cwd(), process.env), {
      signal: ctx.signal,
      onStarted: () =>
        ctx.out.notice(
          `ocbox: task handed to the running service (pid ${info.pid}); --no-serve runs it here`,
        ),
      onEvent: renderEvent(ctx),
    });
    if (task.error) throw errorFromBody(task.error);
    if (!task.result)
      throw new OcboxError("UNEXPECTED", `the service's task ${task.id} ended without a result`, {
        fix: "See `ocbox serve logs`.",
      });
    return printResult(ctx, task.result);
  } catch (e) {
    if (!(e instanceof ServiceUnreachable)) throw e;
    ctx.out.notice(
      `ocbox: the running service (pid ${info.pid}) does not answer (${e.message}); running the task here`,
    );
    return undefined;
  }
}

/** The library's options from the command's flags; a bad flag is a USAGE error. */
function runOptionsFromFlags(flags: RunFlags): RunTaskOptions {
  if ((flags.prompt === undefined) === (flags.promptFile === undefined)) {
    throw new OcboxError("USAGE", "give exactly one of --prompt and --prompt-file", {
      fix: 'ocbox run -w DIR -p "the task"',
    });
  }
  const retries = flags.retries === undefined ? undefined : Number(flags.retries);
  if (retries !== undefined && (!Number.isInteger(retries) || retries < 0)) {
    throw new OcboxError("USAGE", `--retries must be a whole number ≥ 0, not ${flags.retries}`);
  }
  const permissions = permissionPolicyFlag(flags.permissions);
  const hardS = secondsFlag("--timeout", flags.timeout);
  const inactivityS = flags.inactivity === "0" ? null : secondsFlag("--inactivity", flags.inactivity);
  return {
    workspace: flags.workspace,
    ...(flags.prompt !== undefined ? { prompt: flags.prompt } : {}),
    ...(flags.promptFile !== undefined ? { promptFile: flags.promptFile } : {}),
    ...(flags.role ? { role: flags.role } : {}),
    ...(flags.model ? { model: flags.model } : {}),
    ...(flags.workflow ? { workflowFile: flags.workflow } : {}),
    ...(flags.approveConfig ? { approveConfig: true } : {}),
    ...(flags.copy ? { copy: true } : {}),
    ...(flags.taskId ? { taskId: flags.taskId } : {}),
    ...(retries !== undefined ? { maxRetriesOnMalformedOutput: retries } : {}),
    ...(permissions ? { permissions } : {}),
    timeouts: {
      ...(hardS !== undefined ? { hardS } : {}),
      ...(inactivityS !== undefined ? { inactivityS } : {}),
    },
    structuredOutput: flags.structuredOutput,
    structurer: { enabled: flags.structurer },
  };
}

/** The result for a person: outcome, hint, answered asks, host-executed edits, the contract. */
function resultLines(r: TaskResult): string[] {
  const head =
    r.outcome === "COMPLETE"
      ? style.green(r.outcome)
      : r.outcome === "NEEDS_INFO"
        ? style.yellow(r.outcome)
        : style.red(r.outcome);
  const lines = [
    `${head}${r.failureReason ? ` (${r.failureReason}${r.failureKind ? `/${r.failureKind}` : ""})` : ""} in ${r.timings.total.toFixed(1)} s, ${r.attempts} attempt(s)${r.recoveredBy ? `, via ${r.recoveredBy}` : ""}`,
  ];
  if (r.hint) lines.push(`${style.yellow("hint:")} ${r.hint}`);
  for (const a of r.permissionAsks ?? []) {
    const where = a.configLine ? ` (${a.configLine.file}:${a.configLine.line})` : "";
    lines.push(`permission ${a.permission} ${a.patterns.join(" ")}: ${a.answer}${where}`);
  }
  lines.push(...hostExecutedWarnings(r.hostExecutedEdits ?? []).map((l) => style.yellow(l)));
  if (r.contract) lines.push(JSON.stringify(r.contract, null, 2));
  if (r.rawOutput && !r.contract) lines.push(style.dim(r.rawOutput.slice(-2000)));
  return lines;
}

function permissionPolicyFlag(value: string | undefined): PermissionPolicy | undefined {
  if (value === undefined) return undefined;
  const policy = PERMISSION_POLICIES.find((p) => p === value);
  if (!policy)
    throw new OcboxError(
      "USAGE",
      `--permissions must be one of ${PERMISSION_POLICIES.join(", ")}, not ${value}`,
      {
        fix: "Use --permissions reject (the default) or --permissions autonomous.",
      },
    );
  return policy;
}
