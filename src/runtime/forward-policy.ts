/**
 * Rootful Podman beside dockerd (issue 14 item 4): dockerd sets the iptables FORWARD policy to
 * DROP, and a Podman whose network backend puts no ACCEPT rule of its own in FORWARD (CNI, or
 * netavark's rules flushed by a firewall reload) then loses every bridge network: image builds
 * that fetch packages and gateway networks hang. Netavark normally jumps to NETAVARK_FORWARD
 * first, which accepts its own traffic. Detected from `iptables -S FORWARD` on the engine's host
 * when that is this machine and ocbox runs as root; otherwise nothing can be read, and nothing is
 * claimed.
 */
import { run } from "../util/spawn.js";
import type { EngineInfo } from "./engine.js";

/** What is wrong with FORWARD for Podman's bridges, from `iptables -S FORWARD`; undefined when fine. Pure. */
export function forwardPolicyProblem(rules: string): string | undefined {
  const lines = rules.split("\n").map((l) => l.trim());
  if (!lines.includes("-P FORWARD DROP")) return undefined;
  const podmanAccepts = lines.some((l) => /^-A FORWARD .*-j (NETAVARK_FORWARD|CNI-FORWARD)\b/.test(l));
  if (podmanAccepts) return undefined;
  return "the iptables FORWARD policy is DROP (dockerd sets it) and no Podman rule accepts its bridges' traffic";
}

export const FORWARD_FIX = [
  "Let Podman's bridge through dockerd's chain, which dockerd keeps across restarts:",
  "  iptables -I DOCKER-USER -i podman0 -j ACCEPT",
  "  iptables -I DOCKER-USER -o podman0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
  'or switch Podman to netavark (network_backend = "netavark" in containers.conf, then',
  "`podman system reset`). Do not stop dockerd for it.",
].join("\n");

/**
 * The FORWARD problem of a rootful Podman on this machine, if one can be read; undefined when
 * fine or when it cannot be read (another engine, rootless, a remote socket, not root, no iptables).
 */
export async function podmanForwardProblem(info: EngineInfo): Promise<string | undefined> {
  if (info.flavour !== "podman" || info.rootless || !info.endpoint.startsWith("unix://")) return undefined;
  if (process.getuid?.() !== 0) return undefined;
  const result = await run(["iptables", "-S", "FORWARD"]).catch((e: unknown) => {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  });
  if (!result || result.code !== 0) return undefined;
  return forwardPolicyProblem(result.stdout);
}
