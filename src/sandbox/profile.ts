/**
 * The active security profile of a sandbox, as data and as the lines of the startup summary
 * (issue 4: "the startup summary shows the active profile"). Names and numbers only, never a key
 * or a host variable's value. Pure.
 */
import { hostOnlyTarget } from "../egress/host-only-upstream.js";
import { PROXY_PORT, type EgressSpec } from "../egress/spec.js";
import { BLOCKED_SYSCALLS } from "../image/seccomp.js";
import { aptAllowList, aptEnabled } from "./apt-helper.js";
import { EGRESS_NETWORK } from "./containers.js";
import { DEFAULT_HARDENING, hardeningWeakenings, type Hardening } from "./hardening.js";
import type { SandboxSpec } from "./spec.js";
import { unenforcedWarnings, type EngineCapabilities } from "../runtime/engine-capabilities.js";

/** What the profile needs to know about the engine: the limits it cannot enforce. */
export type EngineLimits = Pick<EngineCapabilities, "unenforced" | "rootless">;

export interface SecurityProfile {
  /** The agent container's own network: always "none"; it reaches out only through relays. */
  network: "none";
  /** Ports on the agent's 127.0.0.1 relayed to the sidecar: the proxy, gateways, host ports. */
  relays: { proxy: number; gateways: number[]; hostPorts: number[] };
  /** `public`: a benchmark task's network_mode public (every host, never the host's own addresses). */
  egress: { restricted: boolean; allowCount: number; public?: boolean; decisionLog?: string };
  /** Model gateways: agent port, upstream origin, and the NAME of the key's host variable. */
  gateways: Array<{ port: number; upstream: string; keyEnv?: string; network?: string }>;
  /** `blocked`: the calls the ocbox profile removes from the engine's default (ocbox only). */
  seccomp: { profile: Hardening["seccomp"]; blocked?: number };
  /** Capabilities added back after CapDrop ALL (ocbox.yaml hardening.capAdd); [] = none. */
  capabilities: string[];
  noNewPrivileges: boolean;
  readOnlyRoot: boolean;
  /** Ping sockets for every group (hardening.icmp). */
  icmp: boolean;
  /**
   * The agent container's OCI runtime: `hardening.runtime` (gVisor's runsc, checked at start), or
   * "default" for the engine's own (runc on Docker). The sidecar always runs on the default.
   */
  runtime: string;
  user: string;
  limits: { memoryBytes: number; cpus: number; pids: number; nofile: number };
  /**
   * What weakens the sandbox, by key: opt-ins (`unsafe.*`, `hardening.*`) and what the engine
   * cannot apply (`engine.limits.*`).
   */
  unsafe: string[];
  /** The WARNING text of each `engine.*` key in `unsafe`. */
  engineWarnings?: Record<string, string>;
  /** C9: packages `ocbox-apt install` may add (apt.allow); absent when off. A notice, not a weakening. */
  apt?: string[];
}

function gatewaysOf(egress: EgressSpec | undefined): SecurityProfile["gateways"] {
  return (egress?.gateways ?? []).map((g) => ({
    port: g.agentPort,
    upstream: g.upstream,
    ...(g.keyEnv !== undefined ? { keyEnv: g.keyEnv } : {}),
    ...(g.network !== undefined ? { network: g.network } : {}),
  }));
}

export function securityProfile(spec: SandboxSpec, engine?: EngineLimits): SecurityProfile {
  const egress = spec.egress;
  const engineWeakenings = engine ? unenforcedWarnings(engine) : [];
  const restricted = egress?.restricted === true;
  const h = spec.hardening ?? DEFAULT_HARDENING;
  return {
    network: "none",
    relays: {
      proxy: PROXY_PORT,
      gateways: (egress?.gateways ?? []).map((g) => g.agentPort),
      hostPorts: [...spec.forwardPorts],
    },
    egress: {
      restricted,
      allowCount: restricted || egress?.public ? 0 : (egress?.allow.length ?? 0),
      ...(egress?.public && !restricted ? { public: true } : {}),
      ...(egress?.decisionLog !== undefined ? { decisionLog: egress.decisionLog } : {}),
    },
    gateways: gatewaysOf(egress),
    seccomp: { profile: h.seccomp, ...(h.seccomp === "ocbox" ? { blocked: BLOCKED_SYSCALLS.length } : {}) },
    capabilities: [...h.capAdd, ...(spec.taskImage?.capAdd ?? [])],
    noNewPrivileges: h.noNewPrivileges,
    // A task's own image keeps a writable root (a throwaway container, no host path shared).
    readOnlyRoot: spec.taskImage ? false : h.readOnlyRoot,
    icmp: h.icmp,
    runtime: h.runtime ?? "default",
    user: spec.taskImage?.user ?? `${spec.agentUser.uid}:${spec.agentUser.gid}`,
    limits: {
      memoryBytes: spec.limits.memoryBytes,
      cpus: spec.limits.nanoCpus / 1e9,
      pids: spec.limits.pids,
      nofile: spec.limits.nofile,
    },
    unsafe: [
      ...(spec.hostDockerSocket === true ? ["unsafe.hostDockerSocket"] : []),
      ...(spec.taskImage?.root ? [TASK_ROOT_KEY] : []),
      ...new Set(hardeningWeakenings(h).map((w) => w.key)),
      ...engineWeakenings.map((w) => w.key),
    ],
    ...(engineWeakenings.length
      ? { engineWarnings: Object.fromEntries(engineWeakenings.map((w) => [w.key, w.warning])) }
      : {}),
    ...(aptEnabled(spec) ? { apt: aptAllowList(spec) } : {}),
  };
}

function size(bytes: number): string {
  const g = bytes / 1024 ** 3;
  return Number.isInteger(g) ? `${g}g` : `${Math.round(bytes / 1024 ** 2)}m`;
}

/** The key a root benchmark task is warned and listed under (issue 15, item 3). */
export const TASK_ROOT_KEY = "task.root";

const UNSAFE_WARNINGS: Record<string, string> = {
  [TASK_ROOT_KEY]:
    "the task runs as root (uid 0) in its own throwaway image with the capabilities a package manager " +
    "needs; no host path is shared, but a kernel escape from here is an escape as root",
  "unsafe.hostDockerSocket":
    "the host's Docker socket is mounted in the sandbox: the agent controls the host's engine and can " +
    "start containers that bypass every restriction listed here",
};

/** A root task's WARNING: under gVisor, or on the engine's default runtime. */
function rootTaskWarning(p: SecurityProfile): string | undefined {
  if (p.runtime === "default") return UNSAFE_WARNINGS[TASK_ROOT_KEY];
  return (
    `the task runs as root (uid 0) under gVisor (${p.runtime}) in its own throwaway image with the ` +
    "capabilities a package manager needs; no host path is shared, and a kernel escape must first break gVisor's kernel"
  );
}

/** The hardening a profile shows (the inverse of securityProfile's hardening fields). */
function hardeningOf(p: SecurityProfile): Hardening {
  return {
    readOnlyRoot: p.readOnlyRoot,
    noNewPrivileges: p.noNewPrivileges,
    seccomp: p.seccomp.profile,
    capAdd: p.capabilities,
    icmp: p.icmp,
    ...(p.runtime !== "default" ? { runtime: p.runtime } : {}),
  };
}

/** The runtime line: which kernel the agent's system calls reach. */
function runtimeLine(p: SecurityProfile): string {
  return p.runtime === "default"
    ? "the engine's default (runc): the agent's system calls reach the host's kernel through seccomp"
    : `${p.runtime} (gVisor): the agent's system calls reach gVisor's user-space kernel, not the host's; ` +
        "the sidecar stays on the engine's default";
}

function hardeningLine(p: SecurityProfile): string {
  const seccomp =
    p.seccomp.profile === "ocbox"
      ? `seccomp ocbox (${p.seccomp.blocked ?? 0} calls blocked)`
      : `seccomp ${p.seccomp.profile}`;
  return [
    `user ${p.user}`,
    p.capabilities.length
      ? `capabilities ${p.capabilities.join(", ")} (bounding set only)`
      : "no capabilities",
    p.noNewPrivileges ? "no-new-privileges" : "new privileges allowed",
    p.readOnlyRoot ? "read-only root" : "writable root",
    seccomp,
    p.icmp ? "ping sockets allowed" : "no ping sockets",
  ].join(", ");
}

/** Where the parser runs, and what (if anything) shares the host's network namespace. */
function sidecarLine(p: SecurityProfile): string {
  const viaHost = [
    ...p.relays.hostPorts.map((h) => `host port ${h}`),
    ...p.gateways
      .filter((g) => g.network !== undefined || hostOnlyTarget({ agentPort: g.port, upstream: g.upstream }))
      .map((g) => `gateway ${g.port} upstream`),
  ];
  return (
    `proxy in its own network namespace (${EGRESS_NETWORK}); ` +
    (viaHost.length
      ? `a socat-only host relay in the host's namespace for ${viaHost.join(", ")}`
      : "nothing in the host's namespace")
  );
}

/** The summary's lines for the profile, indented like the rest of it. */
export function securityLines(p: SecurityProfile): string[] {
  const relays = [
    `proxy ${p.relays.proxy}`,
    ...p.relays.gateways.map((g) => `gateway ${g}`),
    ...p.relays.hostPorts.map((h) => `host ${h}`),
  ];
  const egress = p.egress.restricted
    ? "restricted: no host through the proxy; only model gateways and host ports"
    : p.egress.public
      ? "PUBLIC: every host on ports 80/443 through the proxy (the task's network_mode), never the host's own addresses"
      : `${p.egress.allowCount} allowlist ${p.egress.allowCount === 1 ? "entry" : "entries"} through the proxy, everything else denied`;
  const lines = [
    `  network   none; relays on 127.0.0.1: ${relays.join(", ")}`,
    `  egress    ${egress}${p.egress.decisionLog ? ` (decisions: ${p.egress.decisionLog})` : ""}`,
    `  sidecar   ${sidecarLine(p)}`,
  ];
  for (const g of p.gateways) {
    lines.push(
      `  gateway   127.0.0.1:${g.port} -> ${g.upstream}${g.network ? ` on Docker network ${g.network}` : ""}` +
        (g.keyEnv ? ` (key from host ${g.keyEnv}; the agent holds a placeholder)` : " (agent's own key)"),
    );
  }
  if (p.apt?.length) {
    lines.push(
      `  apt       ocbox-apt may install ${p.apt.join(", ")} (a non-root helper container fetches them from ` +
        "Debian; the agent gets them read-only, without root)",
    );
  }
  lines.push(
    `  runtime   ${runtimeLine(p)}`,
    `  hardening ${hardeningLine(p)}`,
    `  limits    memory ${size(p.limits.memoryBytes)}, cpus ${p.limits.cpus}, pids ${p.limits.pids}, nofile ${p.limits.nofile}`,
  );
  const weakenings = hardeningWeakenings(hardeningOf(p));
  for (const key of p.unsafe) {
    const texts = weakenings.filter((w) => w.key === key).map((w) => w.warning);
    const text =
      (key === TASK_ROOT_KEY ? rootTaskWarning(p) : UNSAFE_WARNINGS[key]) ??
      p.engineWarnings?.[key] ??
      (texts.join("; ") || "weakens the sandbox");
    lines.push(`  WARNING   ${key}: ${text}`);
  }
  return lines;
}
