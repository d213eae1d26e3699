/**
 * Run-time staging of the egress sidecar: the generated proxy config (with any gateway keys, so
 * it lives in a dir only the sidecar mounts), the host ports squid listens on, the relays between
 * the agent's sockets and those ports, the agent's resolv.conf, and reading the decision log.
 */
import { constants, existsSync } from "node:fs";
import { appendFile, mkdir, open, readFile, rename, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { OcboxError } from "../errors.js";
import { EGRESS_DIR, GATEWAY_TLS, SIDECAR_TMP, SQUID_ERROR_DIR } from "../image/dockerfile.js";
import { hostCaBundle } from "../image/host-ca.js";
import type { Owner } from "../runtime/labels.js";
import { createRunDir, removeRunDir } from "../sandbox/run-dir.js";
import type { Ids } from "../sandbox/ownership.js";
import {
  CONTROL_VERSION,
  controlFileFor,
  logContextOf,
  readEgressControl,
  removeEgressControl,
  writeEgressControl,
} from "./control.js";
import { parseDecisions, toJsonl, type Decision, type LogContext } from "./decisions.js";
import { hostOnlyTarget } from "./host-only-upstream.js";
import { PROXY_PORT, type EgressSpec } from "./spec.js";
import { squidConfig, type GatewayListener } from "./squid.js";

/**
 * The agent's /etc/resolv.conf: a resolver on the agent's own loopback, where nothing listens.
 * Lookups fail at once (connection refused), and no query leaves the container: it has no
 * interface but loopback. Names of allowed hosts are resolved by the proxy.
 */
export const AGENT_RESOLV_CONF = [
  "# ocbox: this sandbox has no DNS. Allowed hosts are reached through the HTTP(S) proxy,",
  "# which resolves their names outside. See `ocbox egress log`.",
  "nameserver 127.0.0.1",
  "options timeout:1 attempts:1",
  "",
].join("\n");

export const NO_PROXY = "127.0.0.1,localhost,::1";

export interface EgressPlan {
  /** Host dir mounted read-write at EGRESS_DIR in the sidecar only. */
  dir: string;
  /** The control record (egress/control.ts), in ocbox's own dir that no container mounts. */
  controlFile: string;
  /** Squid's forward-proxy port on the loopback of its own network namespace. */
  proxyPort: number;
  /** Squid gateway listen port → gateway name. */
  gatewayPorts: Record<number, string>;
  allow: string[];
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
  /** Host path of the agent's resolv.conf. */
  resolvConf: string;
}

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

/** Stage the sidecar's dir and pick its ports. Remove it with `finishEgress`. */
export async function prepareEgress(
  egress: EgressSpec,
  forwardPorts: readonly number[],
  owner: Owner,
  agentUser: Ids,
  env: NodeJS.ProcessEnv = process.env,
): Promise<EgressPlan> {
  checkEgressPorts(egress, forwardPorts);
  const allow = egress.restricted ? [] : egress.allow;
  const proxyPort = SQUID_PORTS.proxy;
  const gateways: GatewayListener[] = [];
  const gatewayPorts: Record<number, string> = {};
  const relays = [`${PROXY_PORT}:${proxyPort}`];
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
  const needsCa = gateways.some((g) => g.upstream.startsWith("https:"));
  const caPath = needsCa
    ? (hostCaBundle(env) ?? ["/etc/ssl/certs/ca-certificates.crt"].find((p) => existsSync(p)))
    : undefined;
  const files: Record<string, string> = {
    "squid.conf": squidConfig({
      allow,
      proxyPort,
      gateways,
      paths: {
        accessLog: `${EGRESS_DIR}/access.log`,
        cert: `${SIDECAR_TMP}/cert.pem`,
        pidFile: `${SIDECAR_TMP}/squid.pid`,
        localAddrs: `${SIDECAR_TMP}/local-addrs`,
        errorDir: SQUID_ERROR_DIR,
        gatewayPem: GATEWAY_TLS.serverPem,
        relayCert: GATEWAY_TLS.relayCert,
        ...(caPath ? { caFile: `${EGRESS_DIR}/ca.crt` } : {}),
      },
    }),
    "access.log": "",
    "resolv.conf": AGENT_RESOLV_CONF,
    ...(caPath ? { "ca.crt": await readFile(caPath, "utf8") } : {}),
  };
  const dir = await createRunDir(owner, agentUser, files, env);
  // What turns the access log into decisions, and where they go, for whoever collects them
  // (`ocbox down`, `ocbox egress log`, the reaper): in ocbox's own dir, not in the sidecar's.
  const controlFile = controlFileFor(dir, env);
  await writeEgressControl(controlFile, {
    version: CONTROL_VERSION,
    egressDir: dir,
    allow,
    gatewayPorts: Object.fromEntries(Object.entries(gatewayPorts).map(([p, n]) => [String(p), n])),
    ...(egress.decisionLog ? { decisionLog: egress.decisionLog } : {}),
  }).catch(async (e: unknown) => {
    await removeRunDir(dir);
    throw e;
  });
  return {
    dir,
    controlFile,
    proxyPort,
    gatewayPorts,
    allow,
    agentPorts: [PROXY_PORT, ...(egress.gateways ?? []).map((g) => g.agentPort)],
    relays,
    gatewayRelays,
    upstreamPorts,
    upstreams,
    agentEnv: proxyEnv(),
    resolvConf: join(dir, "resolv.conf"),
  };
}

/** The decisions so far, read from the proxy's log. */
export async function readDecisions(plan: EgressPlan): Promise<Decision[]> {
  const text = await readAccessLog(join(plan.dir, ACCESS_LOG));
  return parseDecisions(text, { allow: plan.allow, gatewayPorts: plan.gatewayPorts });
}

const ACCESS_LOG = "access.log";
/** The most of an access log read at once; the rest of a larger one is left out. */
export const ACCESS_LOG_CAP = 64 * 1024 ** 2;

/**
 * The text of an access log in a staged dir, which the sidecar can write: opened without
 * following a link and without blocking on a FIFO, only when it is a regular file, at most
 * ACCESS_LOG_CAP bytes. "" when there is none.
 */
export async function readAccessLog(file: string): Promise<string> {
  let fh;
  try {
    fh = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ELOOP") return "";
    throw e;
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) return "";
    const buf = Buffer.alloc(Math.min(st.size, ACCESS_LOG_CAP));
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return buf.subarray(0, bytesRead).toString("utf8");
  } finally {
    await fh.close();
  }
}

/**
 * The decisions in a staged dir's access log so far, without taking them (`ocbox egress log`).
 * How to read them comes from the control record (`controlFile`, from the container's label),
 * never from the staged dir: a dir without a record yields none.
 */
export async function peekEgressDir(dir: string, controlFile: string | undefined): Promise<Decision[]> {
  const control = controlFile ? await readEgressControl(controlFile) : undefined;
  if (!control || control.egressDir !== dir) return [];
  return parseDecisions(await readAccessLog(join(dir, ACCESS_LOG)), logContextOf(control));
}

/**
 * Move the decisions of a staged dir's access log into the decision log, once: the log is renamed
 * before it is read, so two collectors (`ocbox down` and the starting process's stop, or the
 * reaper) never append the same lines twice. The decision log is the caller's (`decisionLog`) or
 * the control record's, never anything named in the staged dir. Call it once the proxy has
 * stopped writing. Returns the decisions moved.
 */
export async function collectEgressDir(
  dir: string,
  controlFile: string | undefined,
  decisionLog?: string,
): Promise<Decision[]> {
  const control = controlFile ? await readEgressControl(controlFile) : undefined;
  if (!control || control.egressDir !== dir) return [];
  return collectInto(dir, logContextOf(control), decisionLog ?? control.decisionLog);
}

async function collectInto(dir: string, ctx: LogContext, target: string | undefined): Promise<Decision[]> {
  if (!target) return [];
  const taken = join(dir, `${ACCESS_LOG}.${process.pid}.collecting`);
  try {
    // rename moves a link itself, never its target; readAccessLog then refuses it.
    await rename(join(dir, ACCESS_LOG), taken);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return []; // gone, or another collector took it
    throw e;
  }
  const decisions = parseDecisions(await readAccessLog(taken), ctx);
  await mkdir(dirname(target), { recursive: true, mode: 0o700 });
  if (decisions.length > 0) await appendFile(target, toJsonl(decisions), { mode: 0o600 });
  await rm(taken, { force: true });
  return decisions;
}

/** Append the decisions to the sandbox's decision log (when it has one), remove the staged dir and its record. */
export async function finishEgress(plan: EgressPlan, decisionLog: string | undefined): Promise<void> {
  try {
    await collectInto(plan.dir, { allow: plan.allow, gatewayPorts: plan.gatewayPorts }, decisionLog);
  } finally {
    await removeRunDir(plan.dir);
    await removeEgressControl(plan.controlFile);
  }
}
