/**
 * A Harbor task's network policy per phase (issue 15 item 4) as the egress sidecar's spec: the
 * agent phase and the verifier phase each get their own. Pure: the task's policies and the
 * planned egress (its model gateways, its decision log) in, two EgressSpecs out.
 *
 * - `no-network`: the proxy allows no host; the agent keeps only the model gateway.
 * - `allowlist`: `allowed_hosts` (hosts, `*.` subdomains, IPv4 literals and CIDRs); an empty list
 *   allows nothing, as in Harbor.
 * - `public`: every host on ports 80 and 443, and still never an address of the host (its
 *   loopback, its interfaces, the engine's bridge gateways): squid.ts refuses those for every mode.
 *
 * The verifier has no model, so it gets no gateway; the project's own `egress.allow` never
 * widens a task's policy.
 */
import { BlockList, isIPv4 } from "node:net";
import type { NetworkMode, NetworkPolicy } from "../config/harbor-task-schema.js";
import { classifyEntry, normaliseAllowlist } from "../egress/allowlist.js";
import { PROXY_PORT, type EgressSpec } from "../egress/spec.js";

export type Phase = "agent" | "verifier";

export interface PhaseEgress {
  agent: EgressSpec;
  verifier: EgressSpec;
  /** The phases whose mode is `public` (said in the summary, the manifest and at start). */
  publicPhases: Phase[];
  /** Entries that can never work (an address of the host), one line each. */
  notices: string[];
}

/** Addresses every sidecar refuses whatever the list says (squid.ts ALWAYS_LOCAL, IPv4 part). */
const NEVER = (() => {
  const b = new BlockList();
  for (const [net, bits] of [
    ["127.0.0.0", 8],
    ["0.0.0.0", 8],
    ["169.254.0.0", 16],
    ["224.0.0.0", 4],
  ] as const)
    b.addSubnet(net, bits, "ipv4");
  return b;
})();

/** Why an `allowed_hosts` entry can never be reached, or undefined. */
function neverReached(entry: string): string | undefined {
  const e = classifyEntry(entry);
  if (e.kind === "host" && (e.entry === "localhost" || e.entry.endsWith(".localhost")))
    return `${entry} is the sandbox's own loopback: never reached through the proxy`;
  if (e.kind === "address" && isIPv4(e.address) && NEVER.check(e.address, "ipv4"))
    return `${entry} is a loopback, link-local or multicast address: the proxy never connects there`;
  return undefined;
}

function specFor(policy: NetworkPolicy, keep: Pick<EgressSpec, "gateways" | "decisionLog">): EgressSpec {
  const extra = {
    ...(keep.gateways?.length ? { gateways: keep.gateways } : {}),
    ...(keep.decisionLog !== undefined ? { decisionLog: keep.decisionLog } : {}),
  };
  if (policy.mode === "public") return { allow: [], public: true, ...extra };
  const allow = policy.mode === "allowlist" ? normaliseAllowlist(policy.allowedHosts) : [];
  return allow.length ? { allow, ...extra } : { allow: [], restricted: true, ...extra };
}

/**
 * The egress of each phase of a Harbor task. `base` is the egress the planner made for the task
 * (its model gateways and decision log are kept for the agent; its allowlist is not used).
 */
export function harborPhaseEgress(
  network: { agent: NetworkPolicy; verifier: NetworkPolicy },
  base: Pick<EgressSpec, "gateways" | "decisionLog"> | undefined,
): PhaseEgress {
  const decisionLog = base?.decisionLog !== undefined ? { decisionLog: base.decisionLog } : {};
  const phases: Phase[] = ["agent", "verifier"];
  const notices = phases.flatMap((phase) =>
    network[phase].mode === "allowlist"
      ? network[phase].allowedHosts.flatMap((h) => {
          const why = neverReached(h);
          return why ? [`${phase}: allowed_hosts ${why}`] : [];
        })
      : [],
  );
  return {
    agent: specFor(network.agent, { ...(base?.gateways ? { gateways: base.gateways } : {}), ...decisionLog }),
    verifier: specFor(network.verifier, decisionLog),
    publicPhases: phases.filter((p) => network[p].mode === "public"),
    notices,
  };
}

/** One phase's policy in words, for `ocbox eval tasks`, the run's start and the report. Pure. */
export function describeNetwork(policy: NetworkPolicy, phase: Phase): string {
  const nothing = phase === "agent" ? "nothing but the model gateway" : "nothing";
  const words: Record<NetworkMode, string> = {
    "no-network": `no-network (${nothing})`,
    public: "PUBLIC (every host on ports 80/443, never the host itself)",
    allowlist: policy.allowedHosts.length
      ? `allowlist: ${normaliseAllowlist(policy.allowedHosts).join(", ")}`
      : `allowlist with no host (${nothing})`,
  };
  return words[policy.mode];
}

/**
 * The relays a shared-mode verifier gets in the agent's container once its sidecar serves the
 * verifier's own policy (sandbox/egress-phase.ts): the listed host ports always, the proxy when
 * that policy allows something, never a model gateway. Pure.
 */
export function sharedVerifierRelays(verifier: NetworkPolicy, hostPorts: readonly number[]): number[] {
  const allows =
    verifier.mode !== "no-network" && !(verifier.mode === "allowlist" && !verifier.allowedHosts.length);
  return allows ? [...hostPorts, PROXY_PORT] : [...hostPorts];
}
