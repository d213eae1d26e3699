/** Numeric flag values, checked the same way by every command. */
import { InvalidArgumentError } from "commander";
import { OcboxError } from "../errors.js";

/** A TCP port (`--port`), checked while commander parses the flag. */
export function parsePort(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 65535)
    throw new InvalidArgumentError("a port is a whole number from 1 to 65535");
  return n;
}

/** A positive number of seconds, or undefined when the flag was not given. */
export function secondsFlag(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0)
    throw new OcboxError("USAGE", `${flag} must be a positive number of seconds, not ${v}`);
  return n;
}

/** A positive factor (`--timeout-multiplier 2.5`), or undefined when the flag was not given. */
export function factorFlag(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0)
    throw new OcboxError("USAGE", `${flag} must be a positive number (such as 2 or 0.5), not ${v}`);
  return n;
}

/** `--approve-config` on run, eval run, eval judge, bridge and up. */
export const APPROVE_CONFIG_HELP =
  "approve (and record) the ocbox.yaml / opencode.json(c) found here even when they weaken the sandbox (see `ocbox approve`)";

/** `--copy` on run and eval run (issue 14): copy mode whatever the engine sees. */
export const COPY_HELP =
  "copy the workspace into the sandbox through the engine API and sync the agent's work back, instead of a bind mount (default: ocbox.yaml workspace.mode, auto)";
