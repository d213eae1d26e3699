/**
 * Resource limits in the config (FEATURES C4): memory strings to bytes, CPUs to nano-CPUs. Pure.
 * The planner merges them over the sandbox's defaults (plan/limits.ts).
 */

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
