/**
 * Host loopback ports the sandbox reaches at 127.0.0.1 on the same port: `egress.hostPorts`, the
 * ports of provider base URLs on the host's loopback (in the config ocbox generates and in the
 * project's own opencode.json(c)), and the caller's; a port that is a model gateway's is served by
 * the sidecar, not forwarded. Sorted, no duplicates. Pure.
 */
import { loopbackPort } from "../util/loopback.js";
import { providerBaseURLs } from "./provider-config.js";

export function planForwardPorts(input: {
  hostPorts: readonly number[];
  configs: ReadonlyArray<Record<string, unknown> | undefined>;
  caller?: readonly number[] | undefined;
  gatewayPorts: ReadonlySet<number>;
}): number[] {
  const fromUrls = input.configs
    .flatMap(providerBaseURLs)
    .map(loopbackPort)
    .filter((p): p is number => p !== undefined && !input.gatewayPorts.has(p));
  return [...new Set([...input.hostPorts, ...fromUrls, ...(input.caller ?? [])])].sort((a, b) => a - b);
}
