/**
 * `egress.gateways[].network` in ocbox.yaml (FEATURES B4): the gateway's upstream host is a
 * container name or network alias on that Docker network, such as a llama.cpp server on
 * `llm-net`. The sidecar (never the agent) reaches it at the address the engine reports at start.
 */
import { z } from "zod";
import { withProblem } from "./checks.js";

/** Docker's rule for network names. */
const NETWORK_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export const gatewayNetwork = withProblem(z.string(), (name) =>
  NETWORK_NAME.test(name)
    ? undefined
    : {
        problem: `"${name}" is not a Docker network name`,
        fix: "write the network's name as `docker network ls` shows it, e.g. llm-net",
      },
)
  .meta({ pattern: NETWORK_NAME.source })
  .optional()
  .describe(
    "Docker network on which the upstream's host name is a container name or alias (e.g. upstream " +
      "http://llama:8080 with network llm-net). Resolved through the engine at each start; the agent container " +
      "never joins the network. Default: the upstream is reached from the host.",
  );

const IP_LITERAL = /^(\d{1,3}(\.\d{1,3}){3}|\[[0-9a-f:.]*\])$/i;

/** With `network`, the upstream must name a container: not an IP address, not the host's loopback. */
export function gatewayNetworkProblems(
  gw: { upstream: string; network?: string | undefined },
  ctx: z.RefinementCtx,
): void {
  if (gw.network === undefined) return;
  let host: string;
  try {
    host = new URL(gw.upstream).hostname;
  } catch {
    return; // the upstream's own check reports it
  }
  if (!IP_LITERAL.test(host) && host !== "localhost") return;
  ctx.addIssue({
    code: "custom",
    path: ["upstream"],
    message: `"${host}" is not a container name, and network ${gw.network} is given`,
    params: {
      fix: `write the model container's name or network alias as the host, e.g. http://llama:8080, or remove network to reach ${host} from the host`,
    },
  });
}
