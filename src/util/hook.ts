/**
 * The pre-start hook (FEATURES A9): a bash script in the project, sourced on the host before each
 * start, typically to refresh short-lived credentials. Its exported variables are what the env
 * rules see, so `env.map` can pass them into the sandbox. It runs in a child bash (never in
 * ocbox's own process), with the project root as its working directory and the terminal as stdin.
 */
import { readFile } from "node:fs/promises";
import { OcboxError } from "../errors.js";
import { run } from "./spawn.js";

/** The hook's text, or undefined when the file does not exist. */
export async function readHook(file: string): Promise<string | undefined> {
  return readFile(file, "utf8").catch((e: NodeJS.ErrnoException) => {
    if (e.code === "ENOENT") return undefined;
    throw new OcboxError("CONFIG", `cannot read the pre-start hook ${file}: ${e.code ?? e.message}`, {
      fix: "Check its permissions, or remove hook.preStart from ocbox.yaml.",
    });
  });
}

/**
 * Whether a hook's text has nothing for bash to run: only blank lines and `#` comments (the
 * template `ocbox init` writes). Sourcing it would change nothing, so it is not run. Pure.
 */
export function hookDoesNothing(text: string): boolean {
  return text.split("\n").every((line) => /^\s*(#.*)?\s*$/.test(line));
}

/** `env -0` output → a map. Pure. */
export function parseEnvZ(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of text.split("\0")) {
    const eq = entry.indexOf("=");
    if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return env;
}

const SOURCE_AND_DUMP = 'source "$1" >&2 || exit $?; env -0';

/** Source the hook in bash with `env` and return the environment it leaves exported. */
export async function runHook(
  file: string,
  options: { cwd: string; env: NodeJS.ProcessEnv; signal?: AbortSignal; onLine?: (line: string) => void },
): Promise<Record<string, string>> {
  const result = await run(["bash", "-c", SOURCE_AND_DUMP, "ocbox-pre-start", file], {
    cwd: options.cwd,
    env: options.env,
    stdin: "inherit",
    ...(options.signal ? { signal: options.signal } : {}),
  });
  for (const line of result.stderr.split("\n").filter((l) => l !== "")) options.onLine?.(line);
  if (result.code !== 0) {
    throw new OcboxError("SANDBOX_START", `the pre-start hook ${file} failed with exit code ${result.code}`, {
      detail: result.stderr.split("\n").slice(-20).join("\n"),
      fix: "Fix the hook (it is sourced by bash in the project root), or empty it; nothing was started.",
    });
  }
  return parseEnvZ(result.stdout);
}
