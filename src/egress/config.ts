/**
 * From the `egress` keys of ocbox.yaml to the sandbox's EgressSpec (FEATURES B5, D6), for both
 * `ocbox up` and the task executor. Pure: the host environment arrives as data.
 *
 * A gateway's key is read from the host variable its `keyEnv` names and goes only into the
 * sidecar's staged proxy config. Any agent variable that holds the same value (passed by prefix,
 * by env.map, or for model.apiKeyEnv) gets a placeholder instead, so the key never enters the agent
 * container while a provider config that reads `{env:NAME}` still finds a value.
 */
import { OcboxError } from "../errors.js";
import type { ProjectConfig } from "../config/project-schema.js";
import type { EgressSpec, ModelGateway } from "./spec.js";

/** What the agent holds where a gateway holds the real key. */
export const GATEWAY_KEY_PLACEHOLDER = "ocbox-gateway-holds-the-key";

export type EgressConfig = ProjectConfig["egress"];

/** The egress part of a SandboxSpec; throws CONFIG when a gateway's key variable is not set. */
export function egressSpecFromConfig(
  config: EgressConfig,
  hostEnv: Readonly<Record<string, string | undefined>>,
  decisionLog?: string,
): EgressSpec {
  const gateways: ModelGateway[] = (config.gateways ?? []).map((gw, i) => {
    const upstream = new URL(gw.upstream).origin;
    const network = gw.network !== undefined ? { network: gw.network } : {};
    if (gw.keyEnv === undefined) return { agentPort: gw.port, upstream, ...network };
    const key = hostEnv[gw.keyEnv];
    if (key === undefined || key === "") {
      throw new OcboxError(
        "CONFIG",
        `egress.gateways[${i}].keyEnv: the host variable ${gw.keyEnv} is ${key === undefined ? "not set" : "empty"}`,
        {
          fix: `Export ${gw.keyEnv} with the API key for ${upstream} (the pre-start hook may), or remove keyEnv to pass the agent's own header.`,
        },
      );
    }
    return { agentPort: gw.port, upstream, key, keyEnv: gw.keyEnv, ...network };
  });
  return {
    allow: [...config.allow],
    ...(config.restricted ? { restricted: true } : {}),
    ...(gateways.length > 0 ? { gateways } : {}),
    ...(decisionLog !== undefined ? { decisionLog } : {}),
  };
}

/** Ports inside the sandbox that belong to gateways (not host ports to forward). */
export function gatewayPorts(egress: EgressSpec | undefined): Set<number> {
  return new Set((egress?.gateways ?? []).map((g) => g.agentPort));
}

/**
 * The agent's environment with every value that is a gateway key replaced by the placeholder.
 * Returns the names replaced (names only, never a value).
 */
export function withholdGatewayKeys(
  env: Readonly<Record<string, string>>,
  egress: EgressSpec | undefined,
): { env: Record<string, string>; withheld: string[] } {
  const keys = new Set(
    (egress?.gateways ?? []).map((g) => g.key).filter((k): k is string => k !== undefined && k !== ""),
  );
  const out: Record<string, string> = {};
  const withheld: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if ([...keys].some((k) => value === k || (k.length >= 8 && value.includes(k)))) {
      out[name] = GATEWAY_KEY_PLACEHOLDER;
      withheld.push(name);
    } else {
      out[name] = value;
    }
  }
  return { env: out, withheld: withheld.sort() };
}
