/**
 * The sidecar's network: EGRESS_NETWORK, a bridge of ocbox's own with inter-container traffic
 * off, created on first use and kept (like the engine's default bridge; `ocbox clean` leaves it).
 * Also what squid must refuse on it: every address of the engine's host (egress/host-addresses.ts).
 */
import { networkInterfaces } from "node:os";
import { hostAddresses, type Interfaces } from "../egress/host-addresses.js";
import type { Engine } from "../runtime/engine.js";
import { LABEL, LABELS_VERSION } from "../runtime/labels.js";
import { EGRESS_NETWORK } from "./containers.js";

/** Whether the engine runs on this machine, so that this machine's interfaces are its host's. */
export function engineIsLocal(endpoint: string): boolean {
  return endpoint.startsWith("unix://") || endpoint.startsWith("npipe://");
}

/** Make sure the sidecar's network exists; the engine host's addresses that squid refuses. */
export async function prepareEgressNetwork(
  engine: Engine,
  interfaces: () => Interfaces = networkInterfaces,
): Promise<string[]> {
  const egressNetwork = await engine.ensureNetwork(EGRESS_NETWORK, {
    labels: { [LABEL.managed]: "true", [LABEL.version]: String(LABELS_VERSION) },
    icc: false,
  });
  const networks = await engine.listNetworkAddresses();
  return hostAddresses({
    interfaces: engineIsLocal(engine.endpoint) ? interfaces() : {},
    networks,
    egressNetwork,
  });
}
