import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";

export const CLI = join(import.meta.dirname, "..", "..", "dist", "bin", "ocbox.js");

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Run the built `ocbox` as a user would. */
export function ocbox(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string } = {},
): Promise<CliResult> & { child: ChildProcess } {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, NO_COLOR: "1", ...options.env },
    cwd: options.cwd ?? process.cwd(),
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  child.stdin.end(options.input ?? "");
  const done = new Promise<CliResult>((resolve) => {
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  }) as Promise<CliResult> & { child: ChildProcess };
  done.child = child;
  return done;
}

/** The argv of `ocbox eval run` that the eval tests share (the scripted model unless `model`). */
export function evalRunArgs(
  o: { tasks: string; output: string; config: string; model?: string; workers?: number },
  ...extra: string[]
): string[] {
  return [
    "eval",
    "run",
    "--model",
    o.model ?? "scripted/scripted",
    "--tasks",
    o.tasks,
    "--output",
    o.output,
    ...(o.workers === undefined ? [] : ["--workers", String(o.workers)]),
    "--opencode-config",
    o.config,
    ...extra,
  ];
}
