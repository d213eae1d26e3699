/**
 * A plan as JSON for people and scripts (`ocbox plan --json`, `--dry-run`): every decision, and
 * never a secret value. Environment variables are listed by name; a gateway's key by the name of
 * its host variable; API keys and headers in OpenCode configs and the server password are
 * replaced by a marker. Pure.
 */
import { formatModelRef } from "./model-ref.js";
import type { Plan } from "./plan.js";

export const REDACTED = "(redacted)";

/** The images of a plan made without the engine: built (or found) only when the sandbox starts. */
export const IMAGES_AT_START = { sandbox: "(resolved at start)", egress: "(resolved at start)" };
/** Keys whose value is a secret; keys whose object maps names to secrets (names are kept). */
const SECRET_KEYS = new Set(["apiKey", "password", "key", "token", "secret"]);
const SECRET_MAPS = new Set(["headers", "environment", "env"]);

const isReference = (v: unknown) => typeof v === "string" && /^\{env:[A-Za-z_][A-Za-z0-9_]*\}$/.test(v);
const hide = (v: unknown) => (isReference(v) ? v : REDACTED);

/**
 * A deep copy with every secret value replaced: values of secret-looking keys, and the values
 * (not the names) of header and environment maps. An `{env:NAME}` reference stays.
 */
export function redact(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redact);
  if (typeof value !== "object" || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (SECRET_KEYS.has(k)) out[k] = hide(v);
    else if (SECRET_MAPS.has(k) && typeof v === "object" && v !== null && !Array.isArray(v))
      out[k] = Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([n, x]) => [n, hide(x)]));
    else out[k] = redact(v);
  }
  return out;
}

function specView(plan: Plan): Record<string, unknown> | undefined {
  const s = plan.spec;
  if (!s) return undefined;
  return {
    sandboxId: s.sandboxId,
    workspace: s.workspace,
    hostPort: s.hostPort,
    lifetime: s.lifetime,
    dataVolume: s.dataVolume,
    password: s.password === undefined ? undefined : REDACTED,
    authFile: s.authFile,
    authProviders: s.authProviders,
    extraMounts: s.extraMounts,
    cacheVolumes: s.cacheVolumes,
  };
}

export function planView(plan: Plan): Record<string, unknown> {
  const { profile, env, task } = plan;
  return {
    entry: plan.entry,
    approval: plan.approval,
    permission: plan.permission,
    sandbox: redact({ ...profile, env: Object.keys(profile.env).sort() }),
    ...(plan.spec ? { up: specView(plan) } : {}),
    env: {
      passed: env.resolution.passed,
      skipped: env.resolution.skipped,
      withheld: env.withheld,
      fromCaller: env.fromCaller,
      fromPlanner: env.fromPlanner,
      // ocbox's own values (the permission policy), never a host variable's.
      plannerValues: Object.fromEntries(env.fromPlanner.map((n) => [n, env.resolution.env[n]])),
    },
    opencodeConfigs: redact(plan.opencodeConfigs),
    ...(task
      ? {
          task: {
            ...task,
            model: task.model ? formatModelRef(task.model) : null,
            structurer: {
              enabled: task.structurer.enabled,
              model: task.structurer.model ? formatModelRef(task.structurer.model) : null,
            },
            system: task.system === undefined ? null : `${task.system.length} characters`,
          },
        }
      : {}),
    warnings: plan.warnings,
  };
}
