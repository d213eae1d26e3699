/**
 * `ocbox check` (FEATURES G6): is the project ready to start, without starting it? The config
 * parses, the pre-start hook and ocbox.yaml are approved as they are, the agent's MCP servers pass
 * (no inline secrets; remote hosts reachable), and the images for the current inputs are built.
 */
import { checkMcpServers, mcpSummaryLines } from "../plan/mcp-servers.js";
import { readWorkspaceOpencodeConfig } from "../config/opencode-json.js";
import { errorMessage, isOcboxError } from "../errors.js";
import { imageStatus } from "../image/build.js";
import type { Engine } from "../runtime/engine.js";
import { describePending } from "../plan/approval-state.js";
import { checkApproval, readProjectFiles } from "../executor/approval-check.js";
import { openProject } from "../project/up.js";

export interface CheckItem {
  name: "config" | "approval" | "mcp" | "images";
  ok: boolean;
  detail: string;
  fix?: string;
}

export interface CheckReport {
  project: string | null;
  ok: boolean;
  items: CheckItem[];
}

export async function checkProject(
  engine: Engine,
  cwd: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<CheckReport> {
  const items: CheckItem[] = [];
  let opened;
  try {
    opened = await openProject(cwd, env);
    items.push({ name: "config", ok: true, detail: `${opened.project.file} is valid` });
  } catch (e) {
    items.push({
      name: "config",
      ok: false,
      detail: errorMessage(e),
      ...(isOcboxError(e) && e.fix ? { fix: e.fix } : {}),
    });
    return { project: null, ok: false, items };
  }
  const { project, state } = opened;

  items.push(await approvalItem(project, state.approved, env));

  try {
    const opencode = await readWorkspaceOpencodeConfig(project.root);
    const report = checkMcpServers(opencode?.config, project.config.egress, opencode?.file);
    const unreachable = report.remote.filter((r) => !r.allowedBy);
    const lines = mcpSummaryLines(report).map((l) => l.trim());
    items.push({
      name: "mcp",
      ok: unreachable.length === 0,
      detail: lines.length ? lines.join("; ") : "no MCP servers configured",
      ...(unreachable.length ? { fix: unreachable.map((r) => r.fix).join("; ") } : {}),
    });
  } catch (e) {
    items.push({
      name: "mcp",
      ok: false,
      detail: errorMessage(e),
      ...(isOcboxError(e) && e.fix ? { fix: e.fix } : {}),
    });
  }

  try {
    const images = await imageStatus(engine, {
      ...(project.config.image.base ? { base: project.config.image.base } : {}),
      packages: project.config.image.packages,
      env,
    });
    const missing = images.filter((i) => !i.present);
    items.push({
      name: "images",
      ok: missing.length === 0,
      detail: missing.length
        ? `not built for the current inputs: ${missing.map((i) => i.tag).join(", ")}`
        : `up to date: ${images.map((i) => i.tag).join(", ")}`,
      ...(missing.length ? { fix: "`ocbox image build` builds them (`ocbox up` does too)." } : {}),
    });
  } catch (e) {
    items.push({
      name: "images",
      ok: false,
      detail: errorMessage(e),
      ...(isOcboxError(e) && e.fix ? { fix: e.fix } : {}),
    });
  }
  return { project: project.root, ok: items.every((i) => i.ok), items };
}

/** Whether the capability-granting files are approved as they are (the same check `up` makes). */
async function approvalItem(
  project: Parameters<typeof readProjectFiles>[0],
  recordFile: string,
  env: NodeJS.ProcessEnv,
): Promise<CheckItem> {
  const files = await readProjectFiles(project, undefined, env);
  const decided = await checkApproval("up", { ...files.scope, recordFile }, files.read, "none");
  return decided.kind === "approved"
    ? {
        name: "approval",
        ok: true,
        detail: "ocbox.yaml, opencode.json(c) and the pre-start hook are approved as they are",
      }
    : {
        name: "approval",
        ok: false,
        detail: `not approved: ${decided.kind === "refused" ? decided.pending.map(describePending).join("; ") : "?"}`,
        fix: "Read them; `ocbox approve` shows the diff and records them (or `ocbox up` in a terminal asks).",
      };
}
