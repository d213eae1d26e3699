/**
 * Which OpenCode permissions the agent gets, as one stated policy per entry point (FEATURES G4):
 * - `up`: the project decides (its own opencode.json(c)), unless the project is `autonomous`;
 * - `up` autonomous and every unattended entry point (run, eval run, eval judge, bridge,
 *   service): every permission allowed, since nobody is there to answer an ask.
 * An allowing policy goes into OPENCODE_PERMISSION, which OpenCode applies after the project's
 * own opencode.json(c), so the project's file cannot turn it back into an ask. The hardening and
 * the egress allowlist do not change. Pure.
 */
import { isUnattended, type EntryPoint } from "./entry-point.js";

export type PermissionPolicy =
  { kind: "project"; why: "attended" } | { kind: "allow-all"; why: "autonomous" | "unattended" };

export function permissionPolicy(entry: EntryPoint, autonomous: boolean): PermissionPolicy {
  if (isUnattended(entry)) return { kind: "allow-all", why: "unattended" };
  return autonomous ? { kind: "allow-all", why: "autonomous" } : { kind: "project", why: "attended" };
}

const ALWAYS_NAMED = ["external_directory", "read", "edit", "bash", "webfetch", "doom_loop"];

function namedPermissions(config: Record<string, unknown> | undefined): string[] {
  const named = config?.permission;
  return typeof named === "object" && named !== null ? Object.keys(named) : [];
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
  return policy.kind === "allow-all" ? { permission: { "*": "allow" } } : {};
}

/**
 * The agent's OPENCODE_PERMISSION for a policy, or nothing. A caller's explicit `permission` in
 * the OpenCode config it hands in (library users, tests) is an explicit line and stays on top.
 */
export function permissionEnv(
  policy: PermissionPolicy,
  projectOpencode: Record<string, unknown> | undefined,
  callerOpencode?: Record<string, unknown>,
): Record<string, string> {
  if (policy.kind !== "allow-all") return {};
  const base = JSON.parse(allowAllPermission(projectOpencode)) as Record<string, unknown>;
  const explicit = callerOpencode?.permission;
  if (typeof explicit === "string") for (const k of Object.keys(base)) base[k] = explicit;
  else if (typeof explicit === "object" && explicit !== null) Object.assign(base, explicit);
  return { OPENCODE_PERMISSION: JSON.stringify(base) };
}
