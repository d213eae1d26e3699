/**
 * Which model gateway upstreams Squid's own network namespace cannot reach: those on the host's
 * loopback and those on another Docker network (B4). They go through the host relay. Pure.
 */
import type { ModelGateway } from "./spec.js";

/**
 * "HOST:PORT" that the host relay connects to for a gateway whose upstream is on the host's
 * loopback or on a Docker network (B4: the address the engine reported), which Squid's own
 * namespace does not reach; undefined for an upstream Squid reaches itself. Pure.
 */
export function hostOnlyTarget(gw: ModelGateway): string | undefined {
  const url = new URL(gw.upstream);
  const port = url.port || (url.protocol === "https:" ? "443" : "80");
  if (gw.address !== undefined) return `${gw.address}:${port}`;
  const host = url.hostname.replace(/^\[|\]$/g, "").toLowerCase();
  if (host === "localhost" || host.endsWith(".localhost") || /^127\./.test(host)) return `127.0.0.1:${port}`;
  if (host === "::1") return `[::1]:${port}`;
  return undefined;
}
