/**
 * Model API hosts the egress allowlist does not cover (issue 18 item 4). From the configured
 * models, the providers in auth.json and the key variables passed in, work out the API host each
 * provider will call (its `baseURL` in the OpenCode configs, else the pinned OpenCode's catalogue)
 * and list those that the proxy would deny and no model gateway serves: their first prompt would
 * fail. Deny-by-default stays; the gap is said out loud, with the exact line that closes it. Pure.
 */
import { matchHost, suggestedEntry } from "../egress/allowlist.js";
import type { EgressSpec } from "../egress/spec.js";
import { providersInUse } from "../sandbox/auth-copy.js";
import { formatModelRef, providerBaseURL, type ModelRef } from "./model-ref.js";

/** The pinned OpenCode's providers: key variables, SDK package, API host (when fixed). */
export type ProviderCatalogue = Record<string, { env: string[]; npm: string; host?: string }>;

export interface GapInput {
  /** The OpenCode configs the sandbox sees, in load order. */
  configs: ReadonlyArray<Record<string, unknown> | undefined>;
  /** A task's model (run, eval), beside the configs' own. */
  model?: ModelRef | undefined;
  /** Provider ids in the host's auth.json. */
  authProviders?: readonly string[] | undefined;
  /** Names of the variables passed into the sandbox. */
  passedEnv: readonly string[];
  catalogue: ProviderCatalogue;
  egress: Pick<EgressSpec, "allow" | "restricted" | "gateways">;
}

export interface EgressGap {
  provider: string;
  host: string;
  /** Why the agent will call this provider. */
  why: string;
  /** The line to add under `egress.allow` (absent in restricted mode: only a gateway helps). */
  allowLine?: string;
  /** A gateway already forwards to this host: point the provider at it instead. */
  gatewayPort?: number;
  /** The provider's key variable in the catalogue (what a gateway's keyEnv would name). */
  keyEnv?: string;
}

const LOOPBACK = new Set(["127.0.0.1", "localhost", "::1"]);

function hostOf(url: string): string | undefined {
  try {
    return new URL(url).hostname.replace(/^\[|\]$/g, "").toLowerCase() || undefined;
  } catch (e) {
    if (e instanceof TypeError) return undefined; // not a URL: OpenCode reports it
    throw e;
  }
}

/** Each provider the agent will use, with the first reason found. */
export function providersNeeded(input: Omit<GapInput, "egress">): Map<string, string> {
  const needed = new Map<string, string>();
  const add = (p: string, why: string) => void (needed.has(p) || needed.set(p, why));
  if (input.model) add(input.model.providerID, `the task's model ${formatModelRef(input.model)}`);
  for (const p of providersInUse(input.configs)) add(p, "named in the OpenCode config");
  for (const p of input.authProviders ?? []) add(p, "its key is in auth.json");
  const passed = new Set(input.passedEnv);
  for (const [id, entry] of Object.entries(input.catalogue)) {
    const key = entry.env.find((v) => passed.has(v));
    if (key !== undefined) add(id, `${key} is passed in`);
  }
  return needed;
}

/** The API host a provider will call: its configured baseURL, else the catalogue's. */
export function providerHost(
  provider: string,
  configs: ReadonlyArray<Record<string, unknown> | undefined>,
  catalogue: ProviderCatalogue,
): string | undefined {
  const url = providerBaseURL(provider, ...configs);
  return url !== null ? hostOf(url) : catalogue[provider]?.host;
}

/** The hosts the proxy would deny, one per provider, sorted by provider. */
export function egressGaps(input: GapInput): EgressGap[] {
  const gaps: EgressGap[] = [];
  const allow = input.egress.restricted ? [] : input.egress.allow;
  for (const [provider, why] of [...providersNeeded(input)].sort(([a], [b]) => a.localeCompare(b))) {
    const host = providerHost(provider, input.configs, input.catalogue);
    if (host === undefined || LOOPBACK.has(host) || matchHost(allow, host) !== undefined) continue;
    const gw = (input.egress.gateways ?? []).find((g) => hostOf(g.upstream) === host);
    const keyEnv = input.catalogue[provider]?.env[0];
    gaps.push({
      provider,
      host,
      why,
      ...(input.egress.restricted ? {} : { allowLine: `- ${suggestedEntry(host)}` }),
      ...(gw ? { gatewayPort: gw.agentPort } : {}),
      ...(keyEnv !== undefined ? { keyEnv } : {}),
    });
  }
  return gaps;
}

/** The WARNING lines `up`, `run` and eval print, one per gap. */
export function egressGapWarnings(gaps: readonly EgressGap[], configFile = "ocbox.yaml"): string[] {
  return gaps.map((g) => {
    const head = `WARNING egress: provider ${g.provider} (${g.why}) calls ${g.host}, which the proxy denies`;
    if (g.gatewayPort !== undefined)
      return (
        `${head}: a gateway forwards to it; point provider.${g.provider}.options.baseURL ` +
        `at http://127.0.0.1:${g.gatewayPort}/v1 in opencode.json`
      );
    const gateway = "or keep its key on the host behind a model gateway (egress.gateways)";
    return g.allowLine === undefined
      ? `${head} (restricted mode): add a model gateway for it (egress.gateways) in ${configFile}`
      : `${head}: add \`${g.allowLine}\` under egress.allow in ${configFile}, ${gateway}`;
  });
}
