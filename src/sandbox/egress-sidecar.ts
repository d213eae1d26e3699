/**
 * Run-time staging of the egress sidecar: the generated proxy config (with any gateway keys, so
 * it lives in a volume only the sidecar mounts), the host ports squid listens on, the relays
 * between the agent's sockets and those ports, the agent's resolver, and turning the access log
 * into decisions (sandbox/egress-log.ts reads it back through the engine).
 */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { appendFile, mkdir, readFile } from "node:fs/promises";
import { dirname } from "node:path";
import { OcboxError } from "../errors.js";
import { EGRESS_DIR, GATEWAY_TLS, SIDECAR_TMP, SQUID_ERROR_DIR } from "../image/dockerfile.js";
import { hostCaBundle } from "../image/host-ca.js";
import type { Owner } from "../runtime/labels.js";
import type { StagedFile } from "./archive-files.js";
import { runDirPrefix } from "./run-dir.js";
import {
  CONTROL_VERSION,
  controlFileFor,
  logContextOf,
  writeEgressControl,
  type EgressControl,
} from "../egress/control.js";
import { parseDecisions, toJsonl, type Decision } from "../egress/decisions.js";
import { hostOnlyTarget } from "../egress/host-only-upstream.js";
import { PROXY_PORT, type EgressSpec } from "../egress/spec.js";
import { squidConfig, type GatewayListener, type SquidConfigInput } from "../egress/squid.js";

export const NO_PROXY = "127.0.0.1,localhost,::1";

export interface EgressPlan {
  /** Names this staging: the control record's file and the reaper's owner check (`r-<pid>-<start>-<rand>`). */
  id: string;
  /** The engine volume mounted read-write at EGRESS_DIR in the sidecar only (no host dir). */
  volume: string;
  /** What goes into the volume (through the archive API) before the sidecar starts. */
  files: StagedFile[];
  /** The control record (egress/control.ts), in ocbox's own dir that no container mounts. */
  controlFile: string;
  /** Squid's forward-proxy port on the loopback of its own network namespace. */
  proxyPort: number;
  /** Squid gateway listen port → gateway name. */
  gatewayPorts: Record<number, string>;
  allow: string[];
  /** The proxy allows every public host (a benchmark task's network_mode public). */
  public?: boolean;
  /** Ports the agent reaches on its loopback, each relayed to the sidecar (proxy and gateways). */
  agentPorts: number[];
  /** "insidePort:squidPort" pairs the sidecar relays from fwd-<insidePort>.sock. */
  relays: string[];
  /** The same for gateways: relayed over TLS with the relay's client certificate (squid.ts). */
  gatewayRelays: string[];
  /**
   * "gwN=PORT": gateways whose upstream only the host reaches (its loopback, B4's networks). Squid
   * connects to PORT on its own loopback, relayed to the host relay's up-gwN.sock (relay volume).
   */
  upstreamPorts: string[];
  /** "gwN=HOST:PORT": what the host relay connects up-gwN.sock to, from the host's namespace. */
  upstreams: string[];
  /** Environment the agent gets so that tools (and OpenCode) use the proxy. */
  agentEnv: Record<string, string>;
}

/**
 * The agent's /etc/resolv.conf, as the engine writes it (ContainerSpec.dns; no host file): a
 * resolver on the agent's own loopback, where nothing listens. Lookups fail at once (connection
 * refused), and no query leaves the container: it has no interface but loopback. Names of allowed
 * hosts are resolved by the proxy.
 */
export const AGENT_DNS = { servers: ["127.0.0.1"], options: ["timeout:1", "attempts:1"] };

/** Proxy variables in both spellings: curl reads the lower-case ones, most others either. */
export function proxyEnv(port = PROXY_PORT): Record<string, string> {
  const url = `http://127.0.0.1:${port}`;
  return {
    HTTP_PROXY: url,
    HTTPS_PROXY: url,
    http_proxy: url,
    https_proxy: url,
    NO_PROXY,
    no_proxy: NO_PROXY,
  };
}

/**
 * Squid's ports, on the loopback of the sidecar's own network namespace (nothing else listens
 * there, so they are fixed): the forward proxy, then one per gateway, and one per gateway whose
 * upstream only the host reaches (the relay to the host relay's socket).
 */
export const SQUID_PORTS = { proxy: 3128, gateway: 13000, upstream: 14000 } as const;

/** Whether the egress plan needs the host relay: host ports, or a gateway only the host reaches. */
export function needsHostRelay(plan: EgressPlan | undefined, forwardPorts: readonly number[]): boolean {
  return forwardPorts.length > 0 || (plan?.upstreams.length ?? 0) > 0;
}

/** Checks the ports of a spec; throws CONFIG with a fix. Pure. */
export function checkEgressPorts(egress: EgressSpec, forwardPorts: readonly number[]): void {
  const seen = new Map<number, string>();
  const claim = (port: number, what: string) => {
    const prev = seen.get(port);
    if (prev !== undefined) {
      throw new OcboxError("CONFIG", `port ${port} inside the sandbox is both ${prev} and ${what}`, {
        fix: `Use another port for ${what}.`,
      });
    }
    seen.set(port, what);
  };
  claim(PROXY_PORT, "the egress proxy");
  claim(4096, "the OpenCode server");
  for (const p of forwardPorts) claim(p, `host port ${p}`);
  for (const gw of egress.gateways ?? []) {
    claim(gw.agentPort, `the model gateway for ${gw.upstream}`);
    let url: URL;
    try {
      url = new URL(gw.upstream);
    } catch {
      throw new OcboxError("CONFIG", `model gateway upstream "${gw.upstream}" is not a URL`, {
        fix: "Write an origin such as https://api.openai.com or http://127.0.0.1:8080",
      });
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new OcboxError("CONFIG", `model gateway upstream "${gw.upstream}" is not http(s)`, {
        fix: "Write an origin such as https://api.openai.com",
      });
    }
  }
}

/** Squid's listener per gateway, the agent-side relays, and the upstreams only the host reaches. Pure. */
function gatewayListeners(egress: EgressSpec) {
  const gateways: GatewayListener[] = [];
  const gatewayPorts: Record<number, string> = {};
  const gatewayRelays: string[] = [];
  const upstreamPorts: string[] = [];
  const upstreams: string[] = [];
  for (const [i, gw] of (egress.gateways ?? []).entries()) {
    const listenPort = SQUID_PORTS.gateway + i;
    const name = `gw${i}`;
    const target = hostOnlyTarget(gw);
    const peerPort = SQUID_PORTS.upstream + i;
    gateways.push({
      name,
      listenPort,
      agentPort: gw.agentPort,
      upstream: gw.upstream,
      ...(gw.key !== undefined ? { key: gw.key } : {}),
      ...(target
        ? { address: "127.0.0.1", peerPort }
        : gw.address !== undefined
          ? { address: gw.address }
          : {}),
    });
    if (target) {
      upstreamPorts.push(`${name}=${peerPort}`);
      upstreams.push(`${name}=${target}`);
    }
    gatewayPorts[listenPort] = name;
    gatewayRelays.push(`${gw.agentPort}:${listenPort}`);
  }
  return { gateways, gatewayPorts, gatewayRelays, upstreamPorts, upstreams };
}

/** Where squid's files are in the sidecar (its volume and its tmpfs, made by the entrypoint). */
export function squidPaths(withCa: boolean): SquidConfigInput["paths"] {
  return {
    accessLog: `${EGRESS_DIR}/access.log`,
    cert: `${SIDECAR_TMP}/cert.pem`,
    pidFile: `${SIDECAR_TMP}/squid.pid`,
    localAddrs: `${SIDECAR_TMP}/local-addrs`,
    errorDir: SQUID_ERROR_DIR,
    gatewayPem: GATEWAY_TLS.serverPem,
    relayCert: GATEWAY_TLS.relayCert,
    ...(withCa ? { caFile: `${EGRESS_DIR}/ca.crt` } : {}),
  };
}

/**
 * Stage the sidecar's files and pick its ports; write the control record. `volume`: the engine
 * volume the caller creates and fills with `files`; `image`: one the volume can be read back with.
 */
export async function prepareEgress(
  egress: EgressSpec,
  forwardPorts: readonly number[],
  owner: Owner,
  where: { volume: string; image: string },
  env: NodeJS.ProcessEnv = process.env,
): Promise<EgressPlan> {
  checkEgressPorts(egress, forwardPorts);
  const allow = egress.restricted || egress.public ? [] : egress.allow;
  const open = egress.public === true && egress.restricted !== true;
  const proxyPort = SQUID_PORTS.proxy;
  const relays = [`${PROXY_PORT}:${proxyPort}`];
  const { gateways, gatewayPorts, gatewayRelays, upstreamPorts, upstreams } = gatewayListeners(egress);
  const needsCa = gateways.some((g) => g.upstream.startsWith("https:"));
  const caPath = needsCa
    ? (hostCaBundle(env) ?? ["/etc/ssl/certs/ca-certificates.crt"].find((p) => existsSync(p)))
    : undefined;
  const staged: Record<string, string> = {
    "squid.conf": squidConfig({
      allow,
      ...(open ? { public: true } : {}),
      proxyPort,
      gateways,
      paths: squidPaths(caPath !== undefined),
    }),
    "access.log": "",
    ...(caPath ? { "ca.crt": await readFile(caPath, "utf8") } : {}),
  };
  const id = `${runDirPrefix(owner)}${randomBytes(6).toString("hex")}`;
  // What turns the access log into decisions, and where they go, for whoever collects them
  // (`ocbox down`, `ocbox egress log`, the reaper): in ocbox's own dir, not in the sidecar's.
  const controlFile = controlFileFor(id, env);
  await writeEgressControl(controlFile, {
    version: CONTROL_VERSION,
    id,
    volume: where.volume,
    image: where.image,
    allow,
    ...(open ? { public: true } : {}),
    gatewayPorts: Object.fromEntries(Object.entries(gatewayPorts).map(([p, n]) => [String(p), n])),
    ...(egress.decisionLog ? { decisionLog: egress.decisionLog } : {}),
  });
  return {
    id,
    volume: where.volume,
    files: Object.entries(staged).map(([name, content]) => ({ name, content })),
    controlFile,
    proxyPort,
    gatewayPorts,
    allow,
    ...(open ? { public: true } : {}),
    agentPorts: [PROXY_PORT, ...(egress.gateways ?? []).map((g) => g.agentPort)],
    relays,
    gatewayRelays,
    upstreamPorts,
    upstreams,
    agentEnv: proxyEnv(),
  };
}

/** The access log's name in EGRESS_DIR (and in the egress volume). */
export const ACCESS_LOG = "access.log";
/** The most of an access log read at once; the rest of a larger one is left out. */
export const ACCESS_LOG_CAP = 64 * 1024 ** 2;

/** The decisions in an access log's text, read as the control record says. Pure. */
export function decisionsOf(text: string, control: EgressControl): Decision[] {
  return parseDecisions(text, logContextOf(control));
}

/**
 * Append decisions to a decision log (0600, its dir 0700). The log is the caller's or the control
 * record's, never anything named by the sidecar.
 */
export async function appendDecisions(target: string, decisions: readonly Decision[]): Promise<void> {
  if (decisions.length === 0) return;
  await mkdir(dirname(target), { recursive: true, mode: 0o700 });
  await appendFile(target, toJsonl([...decisions]), { mode: 0o600 });
}
