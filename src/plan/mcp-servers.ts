/**
 * MCP servers for the agent (FEATURES G5), read from the project's OpenCode config (`mcp`):
 *   - local (stdio) servers are started by OpenCode inside the sandbox, as the agent's user, inside
 *     its limits and with no network but the egress proxy;
 *   - remote servers are reached through the egress proxy, so they work only when their host is on
 *     `egress.allow`; the others are reported at startup with the line to add;
 *   - a secret written inline (in `environment` or `headers`) is refused, with the `{env:VAR}` form.
 * Pure.
 */
import { OcboxError } from "../errors.js";
import { matchHost, suggestedEntry } from "../egress/allowlist.js";
import { looksLikeSecret } from "../config/checks.js";

export interface McpReport {
  local: string[];
  remote: Array<{ name: string; host: string; allowedBy: string | null; fix: string | null }>;
  disabled: string[];
}

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);
const ENV_REF = /^\{env:[A-Za-z_][A-Za-z0-9_]*\}$/;
const SECRETISH_NAME = /(key|token|secret|password|passwd|auth|credential|bearer)/i;

/** Is this value an inline secret? `{env:VAR}` references and plain non-secret values pass. */
export function inlineSecret(name: string, value: unknown): boolean {
  if (typeof value !== "string" || value === "" || ENV_REF.test(value)) return false;
  // "Bearer {env:TOKEN}" is a reference too.
  if (/\{env:[A-Za-z_][A-Za-z0-9_]*\}/.test(value)) return false;
  return looksLikeSecret(value) || SECRETISH_NAME.test(name);
}

export function checkMcpServers(
  opencode: Record<string, unknown> | undefined,
  egress: { allow: readonly string[]; hostPorts: readonly number[] },
  file = "opencode.json",
): McpReport {
  const report: McpReport = { local: [], remote: [], disabled: [] };
  const mcp = opencode?.mcp;
  if (typeof mcp !== "object" || mcp === null) return report;
  for (const [name, raw] of Object.entries(mcp as Record<string, unknown>)) {
    if (typeof raw !== "object" || raw === null) continue;
    const server = raw as {
      type?: unknown;
      url?: unknown;
      enabled?: unknown;
      environment?: unknown;
      headers?: unknown;
    };
    for (const field of ["environment", "headers"] as const) {
      const values = server[field];
      if (typeof values !== "object" || values === null) continue;
      for (const [k, v] of Object.entries(values as Record<string, unknown>)) {
        if (!inlineSecret(k, v)) continue;
        throw new OcboxError("CONFIG", `${file}: mcp.${name}.${field}.${k} holds a secret written inline`, {
          detail: "The project's OpenCode config is mounted into the sandbox and is usually committed.",
          fix: `Export it on the host, pass it in with env.map in ocbox.yaml, and write "${k}": "{env:${k.toUpperCase().replace(/[^A-Z0-9_]/g, "_")}}" instead.`,
        });
      }
    }
    if (server.enabled === false) {
      report.disabled.push(name);
      continue;
    }
    if (server.type === "remote" && typeof server.url === "string") {
      const url = URL.canParse(server.url) ? new URL(server.url) : undefined;
      const host = url?.hostname ?? server.url;
      if (url && LOOPBACK.has(host)) {
        const port = Number(url.port || (url.protocol === "https:" ? 443 : 80));
        const ok = egress.hostPorts.includes(port);
        report.remote.push({
          name,
          host: `${host}:${port}`,
          allowedBy: ok ? "egress.hostPorts" : null,
          fix: ok ? null : `add ${port} to egress.hostPorts in ocbox.yaml`,
        });
        continue;
      }
      const allowedBy = matchHost(egress.allow, host) ?? null;
      report.remote.push({
        name,
        host,
        allowedBy,
        fix: allowedBy ? null : `add "${suggestedEntry(host)}" to egress.allow in ocbox.yaml`,
      });
      continue;
    }
    report.local.push(name);
  }
  return report;
}

/** Startup summary lines for the MCP servers. Pure. */
export function mcpSummaryLines(report: McpReport): string[] {
  const lines: string[] = [];
  if (report.local.length) lines.push(`  mcp local ${report.local.join(", ")} (run inside the sandbox)`);
  for (const r of report.remote) {
    lines.push(
      r.allowedBy
        ? `  mcp remote ${r.name} → ${r.host} (allowed by ${r.allowedBy})`
        : `  mcp remote ${r.name} → ${r.host} is NOT reachable: not on the egress allowlist; ${r.fix}`,
    );
  }
  return lines;
}
