/**
 * Which OpenCode permissions the agent gets, as one stated policy per entry point (FEATURES G4,
 * issue 17), always written to OPENCODE_PERMISSION where ocbox decides (OpenCode applies it after
 * the project's own opencode.json(c), and the host's own variable of that name no longer passes):
 * - `up`: the project decides (its own opencode.json(c)); nothing set;
 * - `up` autonomous: every permission allowed, the project's asks included;
 * - unattended (run, eval run, eval judge, bridge, service): `*` allowed as before, and the
 *   project's explicit lines kept, so an ask it names still reaches the executor, which answers
 *   it by the ask policy (`reject` by default, `autonomous` allows; executor/permission-policy.ts)
 *   and records the line that asked.
 * The hardening and the egress allowlist do not change. Pure.
 */
import { isUnattended, type EntryPoint } from "./entry-point.js";
import type { AskPolicy } from "./task-decisions.js";

export type PermissionPolicy =
  | { kind: "project"; why: "attended" }
  | { kind: "allow-all"; why: "autonomous" }
  | { kind: "unattended"; asks: AskPolicy };

export function permissionPolicy(
  entry: EntryPoint,
  autonomous: boolean,
  asks: AskPolicy = "reject",
): PermissionPolicy {
  if (isUnattended(entry)) return { kind: "unattended", asks };
  return autonomous ? { kind: "allow-all", why: "autonomous" } : { kind: "project", why: "attended" };
}

const ALWAYS_NAMED = ["external_directory", "read", "edit", "bash", "webfetch", "doom_loop"];

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

function namedPermissions(config: Record<string, unknown> | undefined): string[] {
  return isObject(config?.permission) ? Object.keys(config.permission) : [];
}

/**
 * OPENCODE_PERMISSION allowing everything: `*` plus every permission the project's config names,
 * each set to allow (a key the project names would otherwise keep its own answer).
 */
export function allowAllPermission(projectOpencode: Record<string, unknown> | undefined): string {
  const allow: Record<string, string> = { "*": "allow" };
  for (const k of [...ALWAYS_NAMED, ...namedPermissions(projectOpencode)]) allow[k] = "allow";
  return JSON.stringify(allow);
}

/** The `permission` key of the config ocbox generates for a policy. */
export function permissionConfigKey(policy: PermissionPolicy): { permission?: Record<string, string> } {
  return policy.kind === "project" ? {} : { permission: { "*": "allow" } };
}

/** A caller's explicit `permission` (library users, tests) on top of a base. */
function withCaller(base: Record<string, unknown>, explicit: unknown): Record<string, unknown> {
  if (typeof explicit === "string") for (const k of Object.keys(base)) base[k] = explicit;
  else if (isObject(explicit)) Object.assign(base, explicit);
  return base;
}

/** The agent's OPENCODE_PERMISSION for a policy, or nothing. */
export function permissionEnv(
  policy: PermissionPolicy,
  projectOpencode: Record<string, unknown> | undefined,
  callerOpencode?: Record<string, unknown>,
): Record<string, string> {
  if (policy.kind === "project") return {};
  if (policy.kind === "allow-all") {
    const base = JSON.parse(allowAllPermission(projectOpencode)) as Record<string, unknown>;
    return { OPENCODE_PERMISSION: JSON.stringify(withCaller(base, callerOpencode?.permission)) };
  }
  // Unattended: what the generated config and the project's file gave before, pinned here.
  const base = withCaller({ "*": "allow" }, callerOpencode?.permission);
  const project = projectOpencode?.permission;
  if (isObject(project)) Object.assign(base, project);
  else if (typeof project === "string") for (const k of Object.keys(base)) base[k] = project;
  return { OPENCODE_PERMISSION: JSON.stringify(base) };
}
