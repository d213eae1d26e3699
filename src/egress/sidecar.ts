/**
 * Run-time staging of the egress sidecar: the generated proxy config (with any gateway keys, so
 * it lives in a dir only the sidecar mounts), the host ports squid listens on, the relays between
 * the agent's sockets and those ports, the agent's resolv.conf, and reading the decision log.
 */
import { existsSync } from "node:fs";
import { appendFile, mkdir, readFile, rename, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { OcboxError } from "../errors.js";
import { EGRESS_DIR, GATEWAY_TLS, SIDECAR_TMP, SQUID_ERROR_DIR } from "../image/dockerfile.js";
import { hostCaBundle } from "../image/host-ca.js";
import type { Owner } from "../runtime/labels.js";
import { createRunDir, removeRunDir } from "../sandbox/run-dir.js";
import type { Ids } from "../sandbox/ownership.js";
import { freePort } from "../util/free-port.js";
import { parseDecisions, toJsonl, type Decision, type LogContext } from "./decisions.js";
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
  /** Squid's forward-proxy port on the host's 127.0.0.1. */
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
  const proxyPort = await freePort();
  const gateways: GatewayListener[] = [];
  const gatewayPorts: Record<number, string> = {};
  const relays = [`${PROXY_PORT}:${proxyPort}`];
  const gatewayRelays: string[] = [];
  for (const [i, gw] of (egress.gateways ?? []).entries()) {
    const listenPort = await freePort();
    const name = `gw${i}`;
    gateways.push({
      name,
      listenPort,
      agentPort: gw.agentPort,
      upstream: gw.upstream,
      ...(gw.key !== undefined ? { key: gw.key } : {}),
      ...(gw.address !== undefined ? { address: gw.address } : {}),
    });
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
    // What turns the access log into decisions, for whoever collects it: `ocbox down`, `ocbox
    // egress log` and the reaper (the sandbox may outlive the process that started it).
    [CONTEXT_FILE]: JSON.stringify({
      allow,
      gatewayPorts,
      ...(egress.decisionLog ? { decisionLog: egress.decisionLog } : {}),
    } satisfies EgressDirContext),
    "resolv.conf": AGENT_RESOLV_CONF,
    ...(caPath ? { "ca.crt": await readFile(caPath, "utf8") } : {}),
  };
  const dir = await createRunDir(owner, agentUser, files, env);
  return {
    dir,
    proxyPort,
    gatewayPorts,
    allow,
    agentPorts: [PROXY_PORT, ...(egress.gateways ?? []).map((g) => g.agentPort)],
    relays,
    gatewayRelays,
    agentEnv: proxyEnv(),
    resolvConf: join(dir, "resolv.conf"),
  };
}

/** The decisions so far, read from the proxy's log. */
export async function readDecisions(plan: EgressPlan): Promise<Decision[]> {
  let text = "";
  try {
    text = await readFile(join(plan.dir, "access.log"), "utf8");
  } catch {
    return [];
  }
  return parseDecisions(text, { allow: plan.allow, gatewayPorts: plan.gatewayPorts });
}

/** The staged dir's `context.json`: how to read its access log, and where decisions go. */
export interface EgressDirContext extends LogContext {
  decisionLog?: string;
}

const CONTEXT_FILE = "context.json";
const ACCESS_LOG = "access.log";

/** The context of a staged egress dir, or undefined for a dir that is not one (a run dir). */
export async function readEgressDirContext(dir: string): Promise<EgressDirContext | undefined> {
  try {
    const parsed = JSON.parse(await readFile(join(dir, CONTEXT_FILE), "utf8")) as EgressDirContext;
    return Array.isArray(parsed.allow) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** The decisions in a staged dir's access log so far, without taking them (`ocbox egress log`). */
export async function peekEgressDir(dir: string): Promise<Decision[]> {
  const ctx = await readEgressDirContext(dir);
  if (!ctx) return [];
  const text = await readFile(join(dir, ACCESS_LOG), "utf8").catch(() => "");
  return parseDecisions(text, ctx);
}

/**
 * Move the decisions of a staged dir's access log into its decision log, once: the log is renamed
 * before it is read, so two collectors (`ocbox down` and the starting process's stop, or the
 * reaper) never append the same lines twice. Call it once the proxy has stopped writing.
 * Returns the decisions moved.
 */
export async function collectEgressDir(dir: string, decisionLog?: string): Promise<Decision[]> {
  const ctx = await readEgressDirContext(dir);
  const target = decisionLog ?? ctx?.decisionLog;
  if (!ctx || !target) return [];
  const taken = join(dir, `${ACCESS_LOG}.${process.pid}.collecting`);
  try {
    await rename(join(dir, ACCESS_LOG), taken);
  } catch {
    return []; // gone, or another collector took it
  }
  const decisions = parseDecisions(await readFile(taken, "utf8").catch(() => ""), ctx);
  await mkdir(dirname(target), { recursive: true, mode: 0o700 });
  if (decisions.length > 0) await appendFile(target, toJsonl(decisions), { mode: 0o600 });
  await rm(taken, { force: true });
  return decisions;
}

/** Append the decisions to the sandbox's decision log (when it has one) and remove the staged dir. */
export async function finishEgress(plan: EgressPlan, decisionLog: string | undefined): Promise<void> {
  try {
    if (decisionLog) await collectEgressDir(plan.dir, decisionLog);
  } finally {
    await removeRunDir(plan.dir);
  }
}
