/**
 * The sandbox's limits (FEATURES C4) and copy-back caps: the config's values where given, the
 * sandbox's defaults elsewhere. Pure.
 */
import { cpusToNanoCpus, parseMemory, type LimitsConfig } from "../config/limits.js";
import { DEFAULT_COPY_BACK_CAPS, type CopyBackCaps } from "../sandbox/copy-back-policy.js";
import { DEFAULT_LIMITS, type SandboxSpec } from "../sandbox/spec.js";

/** The sandbox limits: the config's values where given, DEFAULT_LIMITS elsewhere. */
export function resolveLimits(
  config: LimitsConfig = {},
  defaults: SandboxSpec["limits"] = DEFAULT_LIMITS,
): SandboxSpec["limits"] {
  const memoryBytes = typeof config.memory === "string" ? parseMemory(config.memory) : undefined;
  return {
    memoryBytes: memoryBytes ?? defaults.memoryBytes,
    nanoCpus: config.cpus === undefined ? defaults.nanoCpus : cpusToNanoCpus(config.cpus),
    pids: config.pids ?? defaults.pids,
    nofile: config.nofile ?? defaults.nofile,
  };
}

/** `limits.copyBack` in bytes: the config's sizes where given, DEFAULT_COPY_BACK_CAPS elsewhere. */
export function resolveCopyBackCaps(
  config: { maxFile?: string | number | undefined; maxTotal?: string | number | undefined } = {},
): CopyBackCaps {
  const bytes = (v: string | number | undefined) => (typeof v === "string" ? parseMemory(v) : undefined);
  return {
    maxFileBytes: bytes(config.maxFile) ?? DEFAULT_COPY_BACK_CAPS.maxFileBytes,
    maxTotalBytes: bytes(config.maxTotal) ?? DEFAULT_COPY_BACK_CAPS.maxTotalBytes,
  };
}
