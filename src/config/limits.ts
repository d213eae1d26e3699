/**
 * Resource limits from the config (FEATURES C4): memory strings to bytes, CPUs to nano-CPUs, merged
 * over DEFAULT_LIMITS. Pure.
 */
import { DEFAULT_COPY_BACK_CAPS, type CopyBackCaps } from "../sandbox/copy-back-policy.js";
import { DEFAULT_LIMITS } from "../sandbox/spec.js";
import type { SandboxSpec } from "../sandbox/spec.js";

const UNITS: Record<string, number> = { k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** Smallest memory limit accepted: OpenCode alone needs more than this. */
export const MIN_MEMORY_BYTES = 64 * 1024 ** 2;

/**
 * Bytes for a memory size such as "512m", "4g", "1.5g", "2GiB" or "300MB". Units are binary
 * (k = 1024) and required. Undefined when the text is not a memory size.
 */
export function parseMemory(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*([kmgt])(?:i?b)?$/i.exec(text.trim());
  if (!match) return undefined;
  const [, amount = "", unit = ""] = match;
  const bytes = Math.round(Number(amount) * (UNITS[unit.toLowerCase()] ?? Number.NaN));
  return Number.isFinite(bytes) ? bytes : undefined;
}

export function cpusToNanoCpus(cpus: number): number {
  return Math.round(cpus * 1e9);
}

export interface LimitsConfig {
  memory?: string | number | undefined;
  cpus?: number | undefined;
  pids?: number | undefined;
  nofile?: number | undefined;
}

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
