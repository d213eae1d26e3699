/**
 * Autonomous mode (FEATURES G4): every OpenCode permission approved inside the sandbox. The
 * project's own opencode.json(c) is loaded after ocbox's generated config and would win, so the
 * approval goes in OPENCODE_PERMISSION, which OpenCode applies last: `*` plus every permission the
 * project names, each set to allow. The hardening and the egress allowlist do not change. Pure.
 */
export function autonomousPermission(projectOpencode: Record<string, unknown> | undefined): string {
  const named = projectOpencode?.permission;
  const keys = typeof named === "object" && named !== null ? Object.keys(named) : [];
  const allow: Record<string, string> = { "*": "allow" };
  for (const k of ["external_directory", "read", "edit", "bash", "webfetch", "doom_loop", ...keys])
    allow[k] = "allow";
  return JSON.stringify(allow);
}
