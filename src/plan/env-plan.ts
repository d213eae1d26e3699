/**
 * The agent container's environment (FEATURES C6, D1, D6), the same rule for every entry point:
 * 1. the env rules (prefixes, `env.map`, `env.set`) over the host environment; a mapping generated
 *    for `model.apiKeyEnv` is a default, and the config's explicit `env.map` line for the same
 *    container variable wins over it;
 * 2. the caller's extra variables (library `env`, eval's logging prefixes) on top;
 * 3. every value that is a gateway's key replaced by a placeholder (the sidecar holds the key);
 * 4. the variables the planner owns (OPENCODE_PERMISSION from the permission policy) last.
 * Pure; the resolution lists names, never values.
 */
import { projectEnvRules, resolveEnv, type EnvResolution } from "../config/env-rules.js";
import type { ProjectConfig } from "../config/project-schema.js";
import { withholdGatewayKeys } from "../egress/config.js";
import type { EgressSpec } from "../egress/spec.js";

export interface EnvPlan {
  /** The rules' resolution; `env` is the agent's final environment. */
  resolution: EnvResolution;
  /** Names whose value is a gateway's key, replaced by the placeholder. */
  withheld: string[];
  /** Names the caller added on top of the rules. */
  fromCaller: string[];
  /** Names the planner set itself (OPENCODE_PERMISSION). */
  fromPlanner: string[];
}

export function planEnv(input: {
  env: ProjectConfig["env"];
  generatedMap: Readonly<Record<string, string>>;
  hostEnv: Readonly<Record<string, string | undefined>>;
  caller?: Readonly<Record<string, string>> | undefined;
  egress: EgressSpec;
  planner: Readonly<Record<string, string>>;
}): EnvPlan {
  const rules = projectEnvRules(
    { ...input.env, map: { ...input.generatedMap, ...input.env.map } },
    input.hostEnv,
  );
  const resolved = resolveEnv(rules);
  const caller = input.caller ?? {};
  const withheld = withholdGatewayKeys({ ...resolved.env, ...caller }, input.egress);
  return {
    resolution: { ...resolved, env: { ...withheld.env, ...input.planner } },
    withheld: withheld.withheld,
    fromCaller: Object.keys(caller).sort(),
    fromPlanner: Object.keys(input.planner).sort(),
  };
}
