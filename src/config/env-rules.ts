/**
 * Which host environment variables enter the sandbox (FEATURES C6, D1). Pure: the host
 * environment comes in as data, and the result lists names only, never values.
 *
 * Three rules, applied in this order (a later rule wins for the same container variable):
 * 1. passthrough by prefix: a host variable whose name starts with one of the prefixes passes
 *    under its own name (case-sensitive match);
 * 2. `map`: container variable ← host variable, for renames and for names no prefix covers;
 * 3. `set`: literal values from the config.
 * Only set, non-empty host variables pass. Names ocbox owns or that would hand the agent host
 * resources are never passed by any rule (`reservedEnvReason`), and a few more are never passed by
 * prefix, only by an explicit `map` entry (`explicitOnlyReason`).
 */
import { OcboxError } from "../errors.js";
import { envPrefixProblem } from "./checks.js";

/**
 * Default passthrough prefixes. The seeds' list (OPENCODE_, OPENAI_, ANTHROPIC_, GOOGLE_, GEMINI_,
 * AZURE_, PARASAIL_, CLOUDFLARE_) plus providers whose variables only ever hold model API keys.
 * Deliberately absent: AWS_ (account-wide cloud credentials, not model keys; Bedrock users map the
 * few variables they need), GITHUB_/GH_ (repository write access), DOCKER_, SSH_.
 */
export const DEFAULT_ENV_PREFIXES: readonly string[] = [
  "OPENCODE_",
  "OPENAI_",
  "ANTHROPIC_",
  "GOOGLE_",
  "GEMINI_",
  "AZURE_",
  "PARASAIL_",
  "CLOUDFLARE_",
  "OPENROUTER_",
  "GROQ_",
  "MISTRAL_",
  "DEEPSEEK_",
  "XAI_",
];

/** Host variable with extra comma-separated prefixes, merged with the defaults and the config. */
export const EXTRA_PREFIXES_VAR = "OCBOX_EXTRA_ENV_PREFIXES";

const RESERVED_EXACT = new Set([
  "PATH",
  "HOME",
  "USER",
  "LOGNAME",
  "SHELL",
  "PWD",
  "OLDPWD",
  "HOSTNAME",
  "TMPDIR",
  "IFS",
  "DOCKER_HOST",
  "SSH_AUTH_SOCK",
  // Set by ocbox for the server inside; a host value would replace the sandbox's own.
  "OPENCODE_SERVER_PASSWORD",
  "OPENCODE_SERVER_USERNAME",
  "OPENCODE_CONFIG",
  "OPENCODE_CONFIG_DIR",
  "OPENCODE_DB",
]);

/** Why a name may never enter the sandbox, or undefined if it may. */
export function reservedEnvReason(name: string): string | undefined {
  if (RESERVED_EXACT.has(name)) return "reserved: ocbox sets it, or it points at host resources";
  if (/^(LD_|DYLD_)/.test(name)) return "reserved: dynamic loader variables are never passed";
  if (/^(http|https|ftp|all|no)_proxy$/i.test(name)) return "reserved: ocbox sets the proxy variables";
  if (name.startsWith("OCBOX_")) return "reserved: OCBOX_ variables are ocbox's own";
  return undefined;
}

/** Why a name may pass only through an explicit `map` entry, never by prefix, or undefined. */
export function explicitOnlyReason(name: string): string | undefined {
  if (/^(DOCKER_|SSH_|GPG_|XDG_|KUBE|GIT_|BASH_|NPM_CONFIG_|npm_config_)/.test(name)) {
    return "host tool settings pass only through an explicit env.map entry";
  }
  if (
    /^(GITHUB_TOKEN|GH_TOKEN|NODE_OPTIONS|BUN_OPTIONS|PYTHONPATH|PYTHONSTARTUP|ENV|PROMPT_COMMAND|TERM)$/.test(
      name,
    )
  ) {
    return "passes only through an explicit env.map entry";
  }
  return undefined;
}

export type SkipCode = "unset" | "empty" | "reserved" | "explicit-only";

export interface SkippedVar {
  /** The container variable's name. */
  name: string;
  code: SkipCode;
  /** Why, in words; names only, never a value. */
  reason: string;
}

export interface EnvRulesInput {
  hostEnv: Readonly<Record<string, string | undefined>>;
  /** Replaces DEFAULT_ENV_PREFIXES. */
  prefixes?: readonly string[];
  /** Added to the prefixes (from OCBOX_EXTRA_ENV_PREFIXES and the config). */
  extraPrefixes?: readonly string[];
  /** Container variable ← host variable. */
  map?: Readonly<Record<string, string>>;
  /** Literal values. */
  set?: Readonly<Record<string, string | number | boolean>>;
}

export interface EnvResolution {
  env: Record<string, string>;
  /** Names of the container variables set, sorted. */
  passed: string[];
  /** Variables a rule named but that did not pass, sorted by name. */
  skipped: SkippedVar[];
}

export function resolveEnv(input: EnvRulesInput): EnvResolution {
  const prefixes = [...(input.prefixes ?? DEFAULT_ENV_PREFIXES), ...(input.extraPrefixes ?? [])];
  const env = new Map<string, string>();
  const skipped = new Map<string, SkippedVar>();
  const pass = (name: string, value: string): void => {
    env.set(name, value);
    skipped.delete(name);
  };
  const skip = (name: string, code: SkipCode, reason: string): void => {
    if (!env.has(name)) skipped.set(name, { name, code, reason });
  };

  for (const [name, value] of Object.entries(input.hostEnv)) {
    const prefix = prefixes.find((p) => name.startsWith(p));
    if (prefix === undefined || value === undefined) continue;
    const blocked = reservedEnvReason(name);
    if (blocked !== undefined) skip(name, "reserved", blocked);
    else if (explicitOnlyReason(name) !== undefined)
      skip(name, "explicit-only", `${explicitOnlyReason(name)} (matched ${prefix})`);
    else if (value === "") skip(name, "empty", `empty on the host (matched ${prefix})`);
    else pass(name, value);
  }

  for (const [name, hostName] of Object.entries(input.map ?? {})) {
    const blocked = reservedEnvReason(name) ?? reservedEnvReason(hostName);
    const value = input.hostEnv[hostName];
    if (blocked !== undefined) skip(name, "reserved", blocked);
    else if (value === undefined) skip(name, "unset", `host variable ${hostName} is not set`);
    else if (value === "") skip(name, "empty", `host variable ${hostName} is empty`);
    else pass(name, value);
  }

  for (const [name, value] of Object.entries(input.set ?? {})) {
    const blocked = reservedEnvReason(name);
    if (blocked !== undefined) skip(name, "reserved", blocked);
    else pass(name, String(value));
  }

  const names = [...env.keys()].sort();
  return {
    env: Object.fromEntries(names.map((name) => [name, env.get(name) ?? ""])),
    passed: names,
    skipped: [...skipped.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
  };
}

/** Prefixes from a comma- (or space-) separated list such as OCBOX_EXTRA_ENV_PREFIXES. */
export function parsePrefixList(text: string | undefined, source = EXTRA_PREFIXES_VAR): string[] {
  const prefixes = (text ?? "").split(/[\s,]+/).filter((p) => p !== "");
  for (const prefix of prefixes) {
    const found = envPrefixProblem(prefix);
    if (found) throw new OcboxError("CONFIG", `${source}: ${found.problem}`, { fix: found.fix });
  }
  return prefixes;
}

/** The env rules for a project: defaults, OCBOX_EXTRA_ENV_PREFIXES and the config's `env` key. */
export function projectEnvRules(
  config: {
    passthroughPrefixes: readonly string[];
    map: Readonly<Record<string, string>>;
    set: Readonly<Record<string, string | number | boolean>>;
  },
  hostEnv: Readonly<Record<string, string | undefined>>,
): EnvRulesInput {
  return {
    hostEnv,
    extraPrefixes: [...parsePrefixList(hostEnv[EXTRA_PREFIXES_VAR]), ...config.passthroughPrefixes],
    map: config.map,
    set: config.set,
  };
}
