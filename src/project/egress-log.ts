/**
 * The egress decisions of a project sandbox (FEATURES B6, B7), for `ocbox egress log` and
 * `ocbox egress suggest`: what was collected into the state dir's decision log, plus what the
 * proxy of a sandbox that runs now has logged so far (read through the engine from its sidecar, not taken).
 */
import { readFile } from "node:fs/promises";
import type { Engine } from "../runtime/engine.js";
import { LABEL } from "../runtime/labels.js";
import {
  fromJsonl,
  suggestionYaml,
  suggestions,
  summarise,
  type Decision,
  type HostSummary,
  type Suggestion,
} from "../egress/decisions.js";
import { peekEgress } from "../sandbox/egress-log.js";

export interface ProjectDecisions {
  /** The decision log in the state dir. */
  logFile: string;
  /** Every decision, oldest first: the log's, then the running sandbox's. */
  decisions: Decision[];
  /** How many of them come from a sandbox that is running (not yet in the log file). */
  live: number;
}

/** Read the decision log (a missing file is an empty log) and the live proxy logs of the sandbox. */
export async function projectDecisions(
  engine: Engine,
  sandboxId: string,
  logFile: string,
): Promise<ProjectDecisions> {
  const text = await readFile(logFile, "utf8").catch(() => "");
  const logged = fromJsonl(text);
  const containers = await engine.listContainers(
    [`${LABEL.managed}=true`, `${LABEL.sandbox}=${sandboxId}`, `${LABEL.role}=egress`],
    true,
  );
  const live: Decision[] = [];
  for (const c of containers) {
    const volume = c.labels[LABEL.egressVolume];
    if (volume) live.push(...(await peekEgress(engine, c.id, volume, c.labels[LABEL.egressControl])));
  }
  live.sort((a, b) => a.time.localeCompare(b.time));
  return { logFile, decisions: [...logged, ...live], live: live.length };
}

export interface EgressLogReport extends ProjectDecisions {
  sandboxId: string;
  hosts: HostSummary[];
}

export function egressLogReport(sandboxId: string, d: ProjectDecisions): EgressLogReport {
  return { sandboxId, ...d, hosts: summarise(d.decisions) };
}

/** Human lines for `ocbox egress log`. Pure. */
export function egressLogLines(r: EgressLogReport): string[] {
  if (r.decisions.length === 0) return [`no egress decisions yet for ${r.sandboxId} (log: ${r.logFile})`];
  const lines = r.decisions.map(
    (d) =>
      `${d.time}  ${d.decision === "allow" ? "ALLOW" : "DENY "}  ${d.method.padEnd(7)} ${d.host}:${d.port}  ${d.rule}` +
      (d.sni ? ` (sni ${d.sni})` : ""),
  );
  const allowed = r.decisions.filter((d) => d.decision === "allow").length;
  lines.push(
    `${allowed} allowed, ${r.decisions.length - allowed} denied` +
      (r.live ? ` (${r.live} from the running sandbox)` : "") +
      `; log: ${r.logFile}`,
  );
  if (allowed < r.decisions.length) lines.push("`ocbox egress suggest` lists the allowlist lines to add");
  return lines;
}

export interface EgressSuggestReport {
  sandboxId: string;
  logFile: string;
  restricted: boolean;
  suggestions: Suggestion[];
  /** The lines to add to ocbox.yaml ("" when no allowlist line would help). */
  yaml: string;
}

export function egressSuggestReport(
  sandboxId: string,
  d: ProjectDecisions,
  allow: readonly string[],
  restricted: boolean,
): EgressSuggestReport {
  const list = suggestions(d.decisions, restricted ? [] : allow);
  return { sandboxId, logFile: d.logFile, restricted, suggestions: list, yaml: suggestionYaml(list) };
}

/** Human lines for `ocbox egress suggest`. Pure. */
export function egressSuggestLines(r: EgressSuggestReport): string[] {
  if (r.suggestions.length === 0) return [`no denied hosts for ${r.sandboxId} (log: ${r.logFile})`];
  const lines = r.suggestions.map(
    (s) =>
      `${s.entry ? "add" : "   "} ${s.host} (denied ${s.denied}×): ${s.entry ? `egress.allow: ${s.entry}` : s.why}`,
  );
  if (r.yaml) {
    lines.push("", "add to ocbox.yaml (merge with the egress.allow you have):", "", r.yaml.trimEnd());
  }
  if (r.restricted) {
    lines.push("", "note: egress.restricted is on, so the proxy allows no host until you turn it off");
  }
  return lines;
}
