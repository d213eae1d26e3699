/**
 * Squid configuration for the egress sidecar, generated from the allowlist at each start (no image
 * rebuild). Pure: data in, text out.
 *
 * - HTTP is allowed to port 80 and HTTPS (CONNECT) to port 443 of allowlisted hosts only; IP
 *   literals never match (the list names hosts, `dstdomain -n` does no reverse lookup).
 * - The TLS ClientHello of every CONNECT is peeked at (step 1, no decryption); the tunnel is spliced
 *   only when its SNI is on the list too, else terminated: a CONNECT to an allowed name carrying
 *   another host's SNI (domain fronting) is refused.
 * - Destinations on the host itself (loopback, link-local/metadata, every address of the host's
 *   interfaces, listed at start in `localAddrsFile`) are refused even for an allowed name, so DNS
 *   cannot point the proxy at the host's own ports. Host ports are reached only through hostPorts.
 * - Model gateways are reverse-proxy ports (`accel`) with one upstream each; the gateway replaces
 *   the Authorization header with the real key, so the agent only holds a placeholder.
 * - A gateway port is TLS that demands a client certificate made in the sidecar's own tmpfs at
 *   start (entrypoints.ts): only the sidecar's relay from the agent's socket holds its key, so no
 *   other process on the host's loopback (another user, a page in a browser, another sandbox)
 *   can use the real key. It answers only Host 127.0.0.1/localhost on the agent's port, and only
 *   inference: POST to .../chat/completions, completions, responses, embeddings, messages and
 *   GET .../models[/id]; the rest (files, batches, fine-tuning, …) is 403 and a decision.
 */
import { OcboxError } from "../errors.js";
import { classifyEntry, normaliseAllowlist } from "./allowlist.js";

export interface GatewayListener {
  /** Squid port name, also used in ACL names: gw0, gw1, … */
  name: string;
  /** Port squid listens on (the loopback of the sidecar's own network namespace). */
  listenPort: number;
  /** The port the agent uses inside the sandbox (its Host header names it). */
  agentPort: number;
  /** Upstream origin: scheme, host and port; its path is the one the agent uses. */
  upstream: string;
  /** The real API key, sent as `Authorization: Bearer <key>`; absent: the agent's header passes. */
  key?: string;
  /** Where to connect instead of resolving the upstream's host (the relay to the host, sidecar.ts). */
  address?: string;
  /** The port at `address`, when it is not the upstream's (the relay to the host). */
  peerPort?: number;
}

export interface SquidConfigInput {
  allow: readonly string[];
  /**
   * A benchmark task's `network_mode = "public"`: every host on ports 80 and 443, and still never
   * an address of the host (`ocbox_local`). `allow` is then not used.
   */
  public?: boolean;
  /** Port of the forward proxy on the sidecar's 127.0.0.1. */
  proxyPort: number;
  /**
   * A name that answers 302 instead of any other rule: how a reconfigured sidecar shows the new
   * config is in force (sandbox/egress-phase.ts probes it). A host name, never resolved.
   */
  phaseMarker?: string;
  gateways: readonly GatewayListener[];
  /** Paths inside the sidecar. */
  paths: {
    accessLog: string;
    cert: string;
    pidFile: string;
    localAddrs: string;
    errorDir: string;
    /** CA bundle squid trusts for HTTPS gateway upstreams. */
    caFile?: string;
    /** Squid's key and certificate on the gateway ports, made at each start in the sidecar's tmpfs. */
    gatewayPem: string;
    /** The only client certificate the gateway ports accept: the sidecar's relay's (self-signed). */
    relayCert: string;
  };
}

/** Paths the gateway's API may be asked for: an optional prefix (/v1, /api/v1, /openai/v1), then these. */
const PREFIX = "(/[A-Za-z0-9_-]+){0,3}";
const QUERY = "([?].*)?$";
export const GATEWAY_INFERENCE_POST = [
  "chat/completions",
  "completions",
  "responses",
  "embeddings",
  "messages",
];
/** Segments never passed, wherever they appear (belt and braces over the anchored paths). */
export const GATEWAY_REFUSED_SEGMENTS = [
  "files",
  "uploads",
  "batches",
  "fine_tuning",
  "fine-tuning",
  "fine-tunes",
  "fine_tunes",
  "assistants",
  "threads",
  "vector_stores",
  "organization",
  "admin",
];

const METHOD_OVERRIDES = ["X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override"];

function gatewayAcls(): string[] {
  return [
    "acl ocbox_gw_post method POST",
    "acl ocbox_gw_get method GET",
    `acl ocbox_gw_inference urlpath_regex ^${PREFIX}/(${GATEWAY_INFERENCE_POST.join("|")})${QUERY}`,
    `acl ocbox_gw_models urlpath_regex ^${PREFIX}/models(/[A-Za-z0-9_:@-][A-Za-z0-9_.:@-]*){0,3}${QUERY}`,
    `acl ocbox_gw_refused urlpath_regex -i /(${GATEWAY_REFUSED_SEGMENTS.join("|")})([/?]|$)`,
    "acl ocbox_gw_host dstdomain -n 127.0.0.1 localhost",
  ];
}

function gatewayAccess(gw: GatewayListener): string[] {
  const n = gw.name;
  return [
    `acl ${n} myportname ${n}`,
    `acl ${n}_port port ${gw.agentPort}`,
    `cache_peer_access ${n}_up allow ${n}`,
    `cache_peer_access ${n}_up deny all`,
    `never_direct allow ${n}`,
    `http_access deny ${n} !ocbox_gw_host`,
    `http_access deny ${n} !${n}_port`,
    `http_access deny ${n} ocbox_gw_refused`,
    `http_access allow ${n} ocbox_gw_post ocbox_gw_inference`,
    `http_access allow ${n} ocbox_gw_get ocbox_gw_models`,
    `http_access deny ${n}`,
    `deny_info ERR_OCBOX_GATEWAY ${n}`,
    // Some APIs take the method from a header: the checked method is the one that counts.
    ...METHOD_OVERRIDES.map((h) => `request_header_access ${h} deny ${n}`),
  ];
}

/** Fields of one access log line, in order (see decisions.ts). */
export const LOG_FORMAT = "%ts.%03tu %>lp %rm %>rd %>rP %ssl::>sni %>Hs %Ss %ssl::bump_mode %<a %>rp";

/** Addresses on the host that the proxy never connects to, whatever a name resolves to. */
export const ALWAYS_LOCAL = [
  "127.0.0.0/8",
  "0.0.0.0/8",
  "169.254.0.0/16",
  "224.0.0.0/4",
  "255.255.255.255",
  "::1",
  "::",
  "fe80::/10",
  "ff00::/8",
  "fd00:ec2::254",
];

function checkKey(name: string, key: string): void {
  if (!/^[\x21-\x7e]+$/.test(key) || key.includes('"') || key.includes("\\")) {
    throw new OcboxError(
      "CONFIG",
      `the API key for model gateway ${name} has characters a header cannot carry`,
      {
        fix: "Check the host variable that holds the key: it must be one line of printable characters, no quotes.",
      },
    );
  }
}

/** A gateway's listener and its upstream peer. */
function gatewayListener(gw: SquidConfigInput["gateways"][number], p: SquidConfigInput["paths"]): string[] {
  const up = new URL(gw.upstream);
  const port = up.port || (up.protocol === "https:" ? "443" : "80");
  const tls =
    up.protocol === "https:"
      ? ` tls tls-servername=${up.hostname}${p.caFile ? ` tls-cafile=${p.caFile}` : ""}`
      : "";
  return [
    // vhost: the agent's Host stays visible to the ACLs; forceddomain sends the upstream's own.
    `https_port 127.0.0.1:${gw.listenPort} accel vhost defaultsite=${up.hostname}:${port} name=${gw.name}` +
      ` tls-cert=${p.gatewayPem} clientca=${p.relayCert}`,
    // no-netdb-exchange: else Squid itself GETs /squid-internal-dynamic/netdb from the upstream
    // (no key, not the agent's request; seen at the attack suite's model front).
    `cache_peer ${gw.address ?? up.hostname} parent ${gw.peerPort ?? port} 0 no-query no-digest no-netdb-exchange originserver forceddomain=${up.host} name=${gw.name}_up${tls}`,
  ];
}

interface Rules {
  /** ACLs and http_access lines, before the final deny. */
  access: string[];
  /** `ssl_bump splice` lines: the tunnels spliced after the peek. */
  splice: string[];
}

/** `*.example.com` as a regex on the host: below the domain, never the domain itself. */
const subdomainRegex = (domain: string) => `\\.${domain.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`;

/**
 * The allowlist's rules: names (`dstdomain`, and the TLS server name, so a tunnel to an allowed
 * name carrying another host's SNI is terminated), `*.` subdomains (regexes), and addresses,
 * which allow only a request that names an address literally (`dstdom_regex -n`: no lookup),
 * so a name never reaches an address entry. Each refuses an address of the host first.
 */
function allowRules(allow: readonly string[]): Rules {
  const entries = allow.map(classifyEntry);
  const names = entries.filter((e) => e.kind === "host" || e.kind === "domain").map((e) => e.entry);
  const subs = entries.flatMap((e) => (e.kind === "subdomains" ? [subdomainRegex(e.domain)] : []));
  const addrs = entries.filter((e) => e.kind === "address").map((e) => e.entry);
  const access: string[] = [];
  const splice: string[] = [];
  const allowBy = (acl: string) =>
    // Only now resolve the name: denied hosts are never looked up.
    access.push(`http_access deny ${acl} ocbox_local`, `http_access allow ${acl}`);
  if (names.length) {
    access.push(
      `acl ocbox_allowed dstdomain -n ${names.join(" ")}`,
      `acl ocbox_allowed_sni ssl::server_name ${names.join(" ")}`,
    );
    allowBy("ocbox_allowed");
    splice.push("ssl_bump splice ocbox_allowed_sni");
  }
  if (subs.length) {
    access.push(
      `acl ocbox_allowed_sub dstdom_regex -n -i ${subs.join(" ")}`,
      `acl ocbox_allowed_sub_sni ssl::server_name_regex -i ${subs.join(" ")}`,
    );
    allowBy("ocbox_allowed_sub");
    splice.push("ssl_bump splice ocbox_allowed_sub_sni");
  }
  if (addrs.length) {
    access.push(
      "acl ocbox_ip_host dstdom_regex -n ^[0-9]+(\\.[0-9]+){3}$",
      `acl ocbox_allowed_ip dst ${addrs.join(" ")}`,
    );
    allowBy("ocbox_ip_host ocbox_allowed_ip");
    // The tunnel goes to the allowed address whatever name its ClientHello carries.
    splice.push("ssl_bump splice ocbox_ip_host ocbox_allowed_ip");
  }
  if (access.length) access.push("deny_info ERR_OCBOX_LOCAL ocbox_local");
  return { access, splice };
}

/**
 * Private ranges, refused in `public` mode besides the host's own addresses: the host's
 * neighbourhood (its Docker networks, its LAN, a cloud VPC), where an interface added after the
 * sidecar started would not be on its list of host addresses. A task that needs one lists it
 * (`allowlist`).
 */
export const PRIVATE_RANGES = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7"];

/** `public`: every host, refused when it is (or resolves to) an address of the host or a private one. */
function publicRules(): Rules {
  return {
    access: [
      "http_access deny ocbox_local",
      "deny_info ERR_OCBOX_LOCAL ocbox_local",
      `acl ocbox_private dst ${PRIVATE_RANGES.join(" ")}`,
      "http_access deny ocbox_private",
      "deny_info ERR_OCBOX_PRIVATE ocbox_private",
      "http_access allow all",
    ],
    splice: ["ssl_bump splice all"],
  };
}

const MARKER = /^[a-z0-9-]+\.invalid$/;
/** The names egress-phase.ts uses as markers: never a request of the agent's or the verifier's. */
export const PHASE_MARKER = /^ocbox-phase-[0-9a-f]{12}\.invalid$/;

/** The marker's rules: a plain GET of http://MARKER/ is answered 302 by the proxy itself. */
function phaseMarkerRules(marker: string): string[] {
  if (!MARKER.test(marker)) throw new OcboxError("CONFIG", `phase marker ${marker}: not a name.invalid`);
  return [
    `acl ocbox_phase dstdomain -n ${marker}`,
    "http_access deny ocbox_phase",
    `deny_info 302:http://${marker}/ready ocbox_phase`,
  ];
}

export function squidConfig(input: SquidConfigInput): string {
  const allow = normaliseAllowlist(input.allow);
  const p = input.paths;
  const lines: string[] = [
    "# Generated by ocbox at sandbox start. Do not edit: it is written again at every start.",
    `http_port 127.0.0.1:${input.proxyPort} ssl-bump tls-cert=${p.cert} generate-host-certificates=off`,
  ];
  for (const gw of input.gateways) lines.push(...gatewayListener(gw, p));
  lines.push(
    `pid_filename ${p.pidFile}`,
    "cache deny all",
    "cache_mem 0 MB",
    "memory_pools off",
    "client_db off",
    "pinger_enable off",
    "netdb_filename none",
    "coredump_dir none",
    "ipcache_size 256",
    "fqdncache_size 256",
    "shutdown_lifetime 1 seconds",
    "via off",
    "forwarded_for delete",
    "httpd_suppress_version_string on",
    `error_directory ${p.errorDir}`,
    "cache_log stdio:/dev/stderr",
    "logfile_rotate 0",
    `logformat ocbox ${LOG_FORMAT}`,
    `access_log stdio:${p.accessLog} ocbox`,
    "acl CONNECT method CONNECT",
    "acl ocbox_tls_port port 443",
    "acl ocbox_http_port port 80",
    `acl ocbox_local dst ${ALWAYS_LOCAL.join(" ")}`,
    // The sidecar's own addresses and the host's (the bridge gateway, every interface): written
    // at start by the entrypoint, from its interfaces and OCBOX_HOST_ADDRS (sandbox/egress-network.ts).
    `acl ocbox_local dst "${p.localAddrs}"`,
    "acl ocbox_step1 at_step SslBump1",
  );
  if (input.gateways.length > 0) lines.push(...gatewayAcls());
  for (const gw of input.gateways) {
    lines.push(...gatewayAccess(gw));
    if (gw.key !== undefined) {
      checkKey(gw.name, gw.key);
      lines.push(
        `request_header_access Authorization deny ${gw.name}`,
        `request_header_add Authorization "Bearer ${gw.key}" ${gw.name}`,
      );
    }
  }
  if (input.gateways.length > 0) lines.push("request_header_access Surrogate-Capability deny all");
  if (input.phaseMarker !== undefined) lines.push(...phaseMarkerRules(input.phaseMarker));
  lines.push(
    "http_access deny CONNECT !ocbox_tls_port",
    "deny_info ERR_OCBOX_PORT ocbox_tls_port",
    "http_access deny !CONNECT !ocbox_http_port",
    "deny_info ERR_OCBOX_PORT ocbox_http_port",
  );
  const rules = input.public ? publicRules() : allowRules(allow);
  lines.push(...rules.access, "http_access deny all", "deny_info ERR_OCBOX_DENIED all");
  lines.push("ssl_bump peek ocbox_step1", ...rules.splice, "ssl_bump terminate all", "");
  return lines.join("\n");
}

/** The error pages the proxy answers with: agent-readable, naming the host and the fix. */
export const ERROR_PAGES: Record<string, string> = {
  ERR_OCBOX_GATEWAY: [
    "ocbox model gateway: %M %R was refused (403). The gateway forwards only inference requests:",
    "POST .../chat/completions, .../completions, .../responses, .../embeddings, .../messages and",
    "GET .../models, with Host 127.0.0.1:<gateway port>. Files, batches, fine-tuning and every other",
    "API path stay closed, because the gateway adds the real key. `ocbox egress log` lists the refusals.",
    "",
  ].join("\n"),
  ERR_OCBOX_DENIED: [
    "ocbox egress: %H is not on this sandbox's allowlist, so the request was refused.",
    "",
    "To allow it, add the host to egress.allow in ocbox.yaml and start the sandbox again:",
    "",
    "egress:",
    "  allow:",
    "    - %H",
    "",
    "(.example.com allows a domain and all its subdomains.) `ocbox egress suggest` lists every denied host.",
    "A benchmark task: add it to allowed_hosts in the task's task.toml instead.",
    "",
  ].join("\n"),
  ERR_OCBOX_PORT: [
    "ocbox egress: %H:%p was refused: the proxy allows HTTP on port 80 and HTTPS on port 443 only.",
    "",
    "Other TCP ports on the host go in egress.hostPorts in ocbox.yaml and are reached at 127.0.0.1:PORT inside the sandbox.",
    "",
  ].join("\n"),
  ERR_OCBOX_PRIVATE: [
    "ocbox egress: %H is (or resolves to) a private address (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7),",
    "which a task's public network does not include: it is the host's neighbourhood.",
    "To reach it, set the task's network_mode to allowlist and list the address in allowed_hosts.",
    "",
  ].join("\n"),
  ERR_OCBOX_LOCAL: [
    "ocbox egress: %H resolves to an address of the host itself (loopback, link-local or one of its interfaces),",
    "which the proxy never connects to. Host TCP ports go in egress.hostPorts in ocbox.yaml.",
    "",
  ].join("\n"),
};
