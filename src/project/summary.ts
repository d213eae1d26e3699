/** The lines `ocbox up` prints once the sandbox is ready. Names only, never a value. Pure. */
import { basename } from "node:path";
import type { EnvResolution } from "../config/env-rules.js";
import { securityLines, type SecurityProfile } from "../sandbox/profile.js";

export interface SummaryInput {
  sandboxId: string;
  project: string;
  /** Where the project is inside the sandbox (`/<name>`); absent: /workspace. */
  inside?: string;
  url: string;
  env: Pick<EnvResolution, "passed" | "skipped">;
  forwardPorts: readonly number[];
  /** E11: workspace dirs shadowed by named volumes. */
  volumes?: ReadonlyArray<{ path: string; volume: string }>;
  stateDir: string;
  readyS: number;
  detached: boolean;
  hookRan: boolean;
  /** A one-time login link served by this process, if any. */
  loginUrl?: string;
  /** The active security profile (network, egress, gateways, hardening, limits, unsafe opt-ins). */
  security?: SecurityProfile;
  /** G4: every OpenCode permission approved inside. */
  autonomous?: boolean;
  /** G5: lines about the agent's MCP servers (mcpSummaryLines). */
  mcp?: string[];
  /** Model API hosts the proxy would deny: WARNING lines with the line that allows each. */
  egressWarnings?: string[];
  /** How the workspace got in (issue 14): bind mount, or copied into a volume; and why. */
  workspace?: { mode: "bind" | "copy"; why: string; volume?: string; copyIn?: { files: number; ms: number } };
}

/** The "inside" line: the same files (bind mount), or a copy that `ocbox sync` brings back. */
function insideLine(s: SummaryInput): string {
  const at = s.inside ?? "/workspace";
  const w = s.workspace;
  if (w?.mode !== "copy")
    return `  inside    ${at} (the same files: the agent's edits land in ${s.project} at once, and stay yours)`;
  const took = w.copyIn ? `, ${w.copyIn.files} files in ${(w.copyIn.ms / 1000).toFixed(1)} s` : "";
  return (
    `  inside    ${at}: a copy of ${s.project} in the engine volume ${w.volume ?? "?"}${took}; ` +
    "the agent's edits come back with `ocbox sync` (`--watch` keeps syncing) and at `ocbox down`"
  );
}

export function startupSummary(s: SummaryInput): string[] {
  const lines = [
    `sandbox ${s.sandboxId} is up in ${s.readyS.toFixed(1)} s`,
    `  project   ${s.project}`,
    insideLine(s),
    ...(s.workspace ? [`  workspace ${s.workspace.why}`] : []),
    `  UI        opens on ${s.inside ?? "/workspace"}, ready for a new session: the prompt box with ` +
      `${JSON.stringify(basename(s.inside ?? "/workspace"))} and its git branch (or "No Git") under it; Enter ` +
      `sends; earlier sessions are on Home (top left, Ctrl+B)`,
    `  server    ${s.url} (user opencode; the password stays in ${s.stateDir}/password)`,
    `  env       ${s.env.passed.length ? s.env.passed.join(", ") : "(none passed)"}`,
  ];
  for (const skip of s.env.skipped) lines.push(`  skipped   ${skip.name}: ${skip.reason}`);
  lines.push(`  host ports ${s.forwardPorts.length ? s.forwardPorts.join(", ") : "(none)"}`);
  for (const v of s.volumes ?? [])
    lines.push(`  volume    ${s.inside ?? "/workspace"}/${v.path} on ${v.volume} (kept between runs)`);
  if (s.security) lines.push(...securityLines(s.security));
  for (const w of s.egressWarnings ?? []) lines.push(`  ${w}`);
  if (s.autonomous)
    lines.push(
      "  mode      autonomous: every OpenCode permission is approved inside the sandbox; the hardening " +
        "profile and the egress allowlist are unchanged",
    );
  if (s.mcp) lines.push(...s.mcp);
  if (s.hookRan) lines.push("  pre-start hook ran");
  if (s.loginUrl) lines.push(`  web UI    ${s.loginUrl}  (one-time login link, valid 60 s)`);
  lines.push(
    "next: `ocbox web` opens the web UI logged in, `ocbox attach` a terminal session" +
      (s.detached ? ", `ocbox down` stops it" : "; Ctrl+C stops it"),
  );
  return lines;
}
