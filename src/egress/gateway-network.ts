/**
 * B4: model gateways whose upstream is a container on another Docker network (a llama.cpp server
 * on `llm-net`). At each start the upstream's host name is looked up among the network's
 * containers through the engine, and the sidecar, which shares the host's network namespace (the
 * host routes to its bridge networks), connects to that IPv4 address. The agent container never
 * joins the network: it only has its loopback relay to the gateway port.
 */
import { isIPv4 } from "node:net";
import { didYouMean } from "../config/did-you-mean.js";
import { OcboxError } from "../errors.js";
import type { Engine, NetworkMember } from "../runtime/engine.js";
import type { EgressSpec } from "./spec.js";

/** The address of `host` (a container name or alias) among a network's members. Pure; throws CONFIG. */
export function memberAddress(
  members: readonly NetworkMember[] | undefined,
  where: { field: string; network: string; host: string },
): string {
  const { field, network, host } = where;
  if (members === undefined) {
    throw new OcboxError("CONFIG", `${field}: there is no Docker network "${network}"`, {
      fix: `Create it and start the model server on it (docker network create ${network}; docker run --network ${network} --name ${host} …), or correct ${field}.`,
    });
  }
  const match = members.find((m) => m.name === host) ?? members.find((m) => m.aliases.includes(host));
  if (match === undefined) {
    const names = [...new Set(members.flatMap((m) => [m.name, ...m.aliases]))];
    const near = didYouMean(host, names);
    throw new OcboxError(
      "CONFIG",
      `${field}: no container on network ${network} is named or aliased "${host}"`,
      {
        detail: names.length
          ? `on ${network}: ${members.map((m) => m.name).join(", ")}`
          : `${network} has no containers`,
        fix: near
          ? `Did you mean ${near}? Write it as the upstream's host.`
          : `Start the model server on ${network} with --name ${host} or --network-alias ${host}, or change the upstream's host.`,
      },
    );
  }
  if (!match.running) {
    throw new OcboxError("CONFIG", `${field}: container ${match.name} on network ${network} is not running`, {
      fix: `Start it (docker start ${match.name}) and start the sandbox again.`,
    });
  }
  if (match.ipv4 === undefined || !isIPv4(match.ipv4)) {
    throw new OcboxError(
      "CONFIG",
      `${field}: container ${match.name} has no IPv4 address on network ${network}`,
      {
        fix: "Give the network an IPv4 subnet (the gateway connects over IPv4), or reach the server through a host port.",
      },
    );
  }
  return match.ipv4;
}

/** The egress spec with each network gateway's upstream address filled in from the engine. */
export async function resolveGatewayNetworks(engine: Engine, egress: EgressSpec): Promise<EgressSpec> {
  const gateways = egress.gateways ?? [];
  if (!gateways.some((g) => g.network !== undefined)) return egress;
  const members = new Map<string, Promise<NetworkMember[] | undefined>>();
  const resolved = await Promise.all(
    gateways.map(async (gw, i) => {
      if (gw.network === undefined) return gw;
      if (!members.has(gw.network)) members.set(gw.network, engine.networkMembers(gw.network));
      const address = memberAddress(await members.get(gw.network), {
        field: `egress.gateways[${i}].network`,
        network: gw.network,
        host: new URL(gw.upstream).hostname,
      });
      return { ...gw, address };
    }),
  );
  return { ...egress, gateways: resolved };
}
