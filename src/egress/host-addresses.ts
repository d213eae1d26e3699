/**
 * The addresses of the engine's host that the egress proxy must refuse. Squid runs in a network
 * namespace of its own (a bridge network), where the host's loopback is out of reach, but the
 * host's other addresses are not: a packet to the bridge gateway, or to any other interface's
 * address, is delivered to the host's own listeners (ARCHITECTURE decision 3). Pure.
 */
import { isIP } from "node:net";
import type { NetworkAddresses } from "../runtime/engine.js";

/** The shape of `os.networkInterfaces()`. */
export type Interfaces = Record<string, Array<{ address: string }> | undefined>;

/** "fe80::1%eth0" → "fe80::1"; undefined for what is not an address. */
function plainAddress(address: string): string | undefined {
  const bare = address.replace(/%.*$/, "");
  return isIP(bare) ? bare : undefined;
}

function isCidr(text: string): boolean {
  const [addr, bits, extra] = text.split("/");
  if (extra !== undefined || addr === undefined || bits === undefined || !/^\d{1,3}$/.test(bits))
    return false;
  const family = isIP(addr);
  return family !== 0 && Number(bits) <= (family === 4 ? 32 : 128);
}

/**
 * Every address to refuse, sorted and without repeats: the host's interfaces (when the engine
 * runs on this machine), the gateway of every engine network (each an address of the engine's
 * host, whichever machine that is), and the subnets of the sidecar's own network (its peers).
 */
export function hostAddresses(input: {
  interfaces: Interfaces;
  networks: readonly NetworkAddresses[];
  egressNetwork: NetworkAddresses;
}): string[] {
  const out = new Set<string>();
  for (const list of Object.values(input.interfaces)) {
    for (const i of list ?? []) {
      const a = plainAddress(i.address);
      if (a) out.add(a);
    }
  }
  for (const net of [...input.networks, input.egressNetwork]) {
    for (const g of net.gateways) {
      const a = plainAddress(g);
      if (a) out.add(a);
    }
  }
  for (const s of input.egressNetwork.subnets) if (isCidr(s)) out.add(s);
  return [...out].sort();
}
