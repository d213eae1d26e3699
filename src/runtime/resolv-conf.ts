/**
 * A container's /etc/resolv.conf as a file of its own (issue 14 item 4). Docker writes the one
 * ContainerSpec.dns asks for even without a network; Podman 4 writes none for `NetworkMode: none`
 * and ignores `Dns` there, so the container would read the image's file (the resolvers of the
 * machine that built the image). On such an engine the driver puts this file into the created
 * container's own layer through the archive API before it starts: it goes with the container, the
 * root stays read-only to the agent, and no host path is mounted.
 */
import { pack } from "tar-stream";

export interface DnsSettings {
  servers: string[];
  options: string[];
}

/** Pure: the text Docker writes for these settings (`nameserver` lines, then one `options` line). */
export function resolvConfText(dns: DnsSettings): string {
  const lines = dns.servers.map((s) => `nameserver ${s}`);
  if (dns.options.length > 0) lines.push(`options ${dns.options.join(" ")}`);
  return `${lines.join("\n")}\n`;
}

/** A tar archive for the container's root holding `etc/resolv.conf` (root's, 0644). */
export async function resolvConfArchive(dns: DnsSettings): Promise<Buffer> {
  const p = pack();
  p.entry({ name: "etc/resolv.conf", mode: 0o644, uid: 0, gid: 0, mtime: new Date() }, resolvConfText(dns));
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of p) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
