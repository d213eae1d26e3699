/**
 * `ocbox init`'s egress step (issue 18 item 4): the model API hosts the agent will call (the
 * configured model, auth.json's providers, the keys the env rules pass) that `egress.allow` does
 * not cover. Asked one by one at a terminal (default no) and added to the ocbox.yaml init just
 * wrote; with --yes, without a terminal, or for an ocbox.yaml that was already there, nothing is
 * widened: the line to add is printed instead, with the gateway that keeps a key on the host.
 */
import { readFile, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { resolveEnv, projectEnvRules } from "../config/env-rules.js";
import { loadProjectConfig } from "../config/load.js";
import { readWorkspaceOpencodeConfig } from "../config/opencode-json.js";
import { generateModelConfig } from "../config/provider.js";
import { findAnyOpencodeBinary } from "../image/opencode-binary.js";
import { readProviderFacts } from "../opencode/provider-catalogue.js";
import { egressGaps, type EgressGap } from "../plan/egress-gaps.js";
import { hostAuthFile } from "./spec.js";

export interface EgressStep {
  gap: EgressGap;
  status: "added" | "declined" | "printed";
}

/** The fresh template's `allow: []` with `hosts` listed instead. Pure. */
export function allowInTemplate(yaml: string, hosts: readonly string[]): string {
  if (hosts.length === 0) return yaml;
  return yaml.replace(/^( {2})allow: \[\]$/m, (_, indent: string) =>
    [`${indent}allow:`, ...hosts.map((h) => `${indent}  - ${h}`)].join("\n"),
  );
}

/** The note init prints for a gap it did not close. Pure. */
export function egressNote(g: EgressGap, configFile: string): string {
  const head = `provider ${g.provider} (${g.why}) calls ${g.host}, which egress denies`;
  const allow = g.allowLine ? `add \`${g.allowLine}\` under egress.allow in ${configFile}, or ` : "";
  return (
    `${head}: ${allow}keep its key on the host with a model gateway ` +
    `(egress.gateways: - { upstream: https://${g.host}, port: 9101, keyEnv: ${g.keyEnv ?? "<KEY VARIABLE>"} }) and point ` +
    `provider.${g.provider}.options.baseURL at http://127.0.0.1:9101/v1`
  );
}

async function projectGaps(
  root: string,
  env: NodeJS.ProcessEnv,
): Promise<{ file: string; gaps: EgressGap[] }> {
  const read = await loadProjectConfig(root);
  const { config } = read;
  const workspace = await readWorkspaceOpencodeConfig(read.root);
  const generated = config.model ? generateModelConfig(config.model) : undefined;
  const passed = resolveEnv(
    projectEnvRules({ ...config.env, map: { ...generated?.envMap, ...config.env.map } }, env),
  ).passed;
  const facts = await readProviderFacts(findAnyOpencodeBinary(), hostAuthFile(env, homedir()), env);
  const gaps = egressGaps({
    configs: [generated?.opencode as Record<string, unknown> | undefined, workspace?.config],
    authProviders: facts.authProviders,
    passedEnv: passed,
    catalogue: facts.catalogue,
    egress: {
      allow: config.egress.allow,
      ...(config.egress.restricted ? { restricted: true } : {}),
      gateways: (config.egress.gateways ?? []).map((g) => ({ agentPort: g.port, upstream: g.upstream })),
    },
  });
  return { file: read.file, gaps };
}

/**
 * Offer each gap. `ask` is present only at a terminal without --yes; `fresh` says init wrote
 * ocbox.yaml just now (only then is its `allow: []` edited).
 */
export async function offerEgress(
  root: string,
  options: { ask?: ((q: string) => Promise<boolean>) | undefined; fresh: boolean; env: NodeJS.ProcessEnv },
): Promise<{ steps: EgressStep[]; notes: string[] }> {
  const { file, gaps } = await projectGaps(root, options.env);
  const steps: EgressStep[] = [];
  const add: string[] = [];
  for (const gap of gaps) {
    if (!options.ask || !options.fresh || gap.allowLine === undefined) {
      steps.push({ gap, status: "printed" });
      continue;
    }
    const yes = await options.ask(
      `The agent will call ${gap.host} for provider ${gap.provider} (${gap.why}); egress denies it. ` +
        `Allow it in ${file}? (a gateway keeps the key on the host instead)`,
    );
    steps.push({ gap, status: yes ? "added" : "declined" });
    if (yes) add.push(gap.host);
  }
  if (add.length) await writeFile(file, allowInTemplate(await readFile(file, "utf8"), add));
  const notes = steps.filter((s) => s.status !== "added").map((s) => egressNote(s.gap, file));
  return { steps, notes };
}
