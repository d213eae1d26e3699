/** What a sandbox's egress sidecar does (FEATURES B, D6). Plain data, part of the SandboxSpec. */

export interface ModelGateway {
  /**
   * Port inside the sandbox: the agent's provider baseURL is `http://127.0.0.1:<agentPort>` plus
   * the upstream's path (for example `/v1`).
   */
  agentPort: number;
  /** Upstream origin, e.g. `https://api.openai.com` or `http://127.0.0.1:8080` (a host server). */
  upstream: string;
  /**
   * The real API key, read on the host by the caller. The gateway sends it as
   * `Authorization: Bearer <key>` (OpenAI-compatible providers) in place of whatever the agent
   * sent; the agent container only ever holds a placeholder. Absent: the agent's header passes.
   */
  key?: string;
  /** NAME of the host variable the key came from, for summaries (never the value). */
  keyEnv?: string;
  /**
   * B4: a Docker network on which the upstream's host is a container name or alias (a model server
   * on `llm-net`). The sidecar connects to the address the engine reports at start; the agent
   * container never joins the network.
   */
  network?: string;
  /** The upstream host's IPv4 address on `network`, filled in at start (gateway-network.ts). */
  address?: string;
}

export interface EgressSpec {
  /**
   * Hosts reachable through the proxy: an exact host, `.example.com` (domain and subdomains), and
   * from a benchmark task's `allowed_hosts` also `*.example.com` (subdomains only), IPv4
   * literals and CIDRs (allowlist.ts).
   */
  allow: string[];
  /** Restricted mode (B5): the proxy allows nothing; only model gateways and host ports work. */
  restricted?: boolean;
  /**
   * A benchmark task's `network_mode = "public"` (eval/harbor-network.ts): the proxy allows every
   * host on ports 80 and 443, never an address of the host; `allow` is not used.
   */
  public?: boolean;
  gateways?: ModelGateway[];
  /** Host path of the JSONL decision log; the sandbox's decisions are appended when it stops. */
  decisionLog?: string;
}

/** The proxy's port inside the agent container (127.0.0.1). */
export const PROXY_PORT = 3128;
