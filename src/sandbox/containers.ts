import { modelsFileEnv } from "./models-file.js";
import { AGENT_DNS, type EgressPlan } from "./egress-sidecar.js";
import {
  AGENT_HOME,
  DATA_DIR,
  EGRESS_DIR,
  GVISOR_BIN,
  RELAY_DIR,
  RUN_DIR,
  SOCKET_DIR,
  WORKSPACE,
  SERVER_PORT,
} from "../image/dockerfile.js";
import type { ContainerSpec } from "../runtime/engine.js";
import { LABEL } from "../runtime/labels.js";
import { IMAGE_PATH, aptAgentEnv, aptAgentMounts } from "./apt-helper.js";
import { cacheMounts } from "./cache-volumes.js";
import { hardeningOptions } from "./hardening.js";
import type { SandboxSpec } from "./spec.js";
import { taskAgentContainer } from "./task-image-sandbox.js";
import { PUBLISH_PORT } from "./server-transport.js";

export interface Names {
  agent: string;
  egress: string;
  socketVolume: string;
  /** The host relay (only with host ports or a gateway only the host reaches) and its volume. */
  relay: string;
  relayVolume: string;
  /** The agent's staged credentials and configs, mounted at RUN_DIR (filled through the archive API). */
  runVolume: string;
  /** The sidecar's proxy config and access log, mounted at EGRESS_DIR in the sidecar only. */
  egressVolume: string;
  /** Copy mode: the agent's workspace, filled through the archive API (issue 14 item 2). */
  workspaceVolume: string;
}

/** Names of a sandbox's resources: readable, unique per run. */
export function resourceNames(sandboxId: string, runId: string): Names {
  const base = `ocbox-${sandboxId}-${runId}`;
  return {
    agent: `${base}-agent`,
    egress: `${base}-egress`,
    socketVolume: `${base}-sock`,
    relay: `${base}-relay`,
    relayVolume: `${base}-relay`,
    runVolume: `${base}-run`,
    egressVolume: `${base}-egress`,
    workspaceVolume: `${base}-ws`,
  };
}

const logRotation = { logMaxSize: "10m", logMaxFiles: 3 };

/** Driver options of the shared socket volume: a small tmpfs owned by the agent user. */
export function socketVolumeOptions(spec: SandboxSpec): Record<string, string> {
  const { uid, gid } = spec.agentUser;
  return { type: "tmpfs", device: "tmpfs", o: `size=1m,mode=0700,uid=${uid},gid=${gid}` };
}

/** Where the host's Docker socket is, and where the agent sees it with `hostDockerSocket` (C8). */
export const DOCKER_SOCKET = "/var/run/docker.sock";

/**
 * The agent container: no network at all, read-only root, no capabilities, limits. Pure.
 * `dockerSocketGid`: the group of the host's Docker socket, given only with `spec.hostDockerSocket`.
 */
export function agentContainer(
  spec: SandboxSpec,
  names: Names,
  labels: Record<string, string>,
  egress?: EgressPlan,
  dockerSocketGid?: number,
): ContainerSpec {
  if (spec.taskImage)
    return taskAgentContainer({ ...spec, taskImage: spec.taskImage }, names, labels, egress);
  const docker = spec.hostDockerSocket === true && dockerSocketGid !== undefined;
  const { uid, gid } = spec.agentUser;
  const home = `rw,nosuid,nodev,size=512m,mode=0700,uid=${uid},gid=${gid}`;
  const target = spec.workspaceTarget ?? WORKSPACE;
  return {
    ...logRotation,
    // Read-only root, no capabilities, no-new-privileges, the ocbox seccomp profile (C3) and no
    // ping sockets, unless ocbox.yaml's `hardening` weakens an item (the summary warns).
    ...hardeningOptions(spec.hardening),
    name: names.agent,
    image: spec.images.sandbox,
    // Where the project is inside: `web` and `attach` open the UI there (read from the label).
    labels: { ...labels, [LABEL.workspaceTarget]: target },
    user: `${uid}:${gid}`,
    // C8 (opt-in, unsafe): the socket's group lets the non-root agent use the host's engine.
    ...(docker ? { groupAdd: [String(dockerSocketGid)] } : {}),
    env: {
      ...spec.env,
      // The proxy (and model gateways) on the agent's loopback, relayed to the sidecar.
      ...(egress?.agentEnv ?? {}),
      OCBOX_FORWARD_PORTS: [...spec.forwardPorts, ...(egress?.agentPorts ?? [])].join(" "),
      OCBOX_SERVER_LOG_LEVEL: spec.server.logLevel,
      OCBOX_PRINT_LOGS: spec.server.printLogs ? "1" : "0",
      ...(spec.opencodeConfig ? { OPENCODE_CONFIG: `${RUN_DIR}/opencode.json` } : {}),
      ...modelsFileEnv(spec),
      ...(docker ? { DOCKER_HOST: `unix://${DOCKER_SOCKET}` } : {}),
      // C9: the apt helper's prefix on PATH and LD_LIBRARY_PATH (only with apt.allow).
      ...withRuntimePath(spec, aptAgentEnv(spec)),
    },
    workingDir: target,
    networkMode: "none",
    mounts: [
      ...[target, ...(spec.workspaceAlias ? [spec.workspaceAlias] : [])].flatMap((at) => [
        spec.workspaceCopy
          ? { type: "volume" as const, source: names.workspaceVolume, target: at }
          : { type: "bind" as const, source: spec.workspace, target: at },
        // E11: performance volumes over workspace dirs (the engine mounts them after the workspace).
        ...cacheMounts(spec.cacheVolumes ?? [], at),
      ]),
      // D2: a volume of this container's own, filled through the archive API before it starts
      // (so writable: the engine extracts only into writable mounts). No host dir (decision 9).
      { type: "volume", source: names.runVolume, target: RUN_DIR },
      { type: "volume", source: names.socketVolume, target: SOCKET_DIR },
      ...aptAgentMounts(spec),
      // A3: OpenCode's data (sessions) in the project's named volume. The per-container copy of
      // auth.json (D2) stays in the run volume; the entrypoint links it into the data dir.
      ...(spec.dataVolume ? [{ type: "volume" as const, source: spec.dataVolume, target: DATA_DIR }] : []),
      ...(spec.extraMounts ?? []),
      ...(docker ? [{ type: "bind" as const, source: DOCKER_SOCKET, target: DOCKER_SOCKET }] : []),
    ],
    // No usable resolver: no DNS query can leave (B2, CVE-2024-29018); the proxy resolves names.
    ...(egress ? { dns: AGENT_DNS } : {}),
    tmpfs: {
      "/tmp": "rw,nosuid,nodev,size=1g,mode=1777",
      [AGENT_HOME]: home,
    },
    limits: runtimeLimits(spec),
    stopTimeout: 10,
    healthcheck: {
      // The server answers 401 without credentials once it is up; no password in the check.
      test: [
        "CMD-SHELL",
        `test "$(curl -s -o /dev/null -m 3 -w '%{http_code}' http://127.0.0.1:${SERVER_PORT}/global/health)" = 401`,
      ],
      intervalS: 10,
      timeoutS: 5,
      retries: 3,
      startPeriodS: 30,
    },
  };
}

/**
 * Under gVisor (hardening.runtime), GVISOR_BIN comes first on PATH: its `ls` and `stat` work
 * where coreutils' fail with this runsc (dockerfile.ts). Pure.
 */
export function withRuntimePath(spec: SandboxSpec, env: Record<string, string>): Record<string, string> {
  if (spec.hardening?.runtime === undefined) return env;
  return { ...env, PATH: `${GVISOR_BIN}:${env.PATH ?? IMAGE_PATH}` };
}

/**
 * Host tasks gVisor's ptrace platform uses beside the agent's own processes (measured here with
 * Debian's runsc: 44 for an idle sandbox, about 8 more per process inside; a fork bomb held at 256
 * processes inside still grows them by ~500 a second, its stub processes kept for reuse). `max`
 * bounds the backstop whatever `limits.pids` says: the host's PID space is shared (pid_max is
 * 32768 on many hosts, and the default `limits.pids` of 1024 would ask for 33024).
 */
export const GVISOR_HOST_TASKS = { base: 256, perProcess: 32, max: 4096 } as const;

/** The host-side PID backstop of a gVisor sandbox whose agent may run `pids` processes. Pure. */
export function gvisorHostTasks(pids: number): number {
  return Math.min(GVISOR_HOST_TASKS.max, GVISOR_HOST_TASKS.base + GVISOR_HOST_TASKS.perProcess * pids);
}

/**
 * The agent container's limits. Under gVisor the PID limit is applied inside: RLIMIT_NPROC, which
 * the sentry enforces for the sandbox's processes (a fork bomb gets EAGAIN there). The host's pids
 * cgroup then counts the sentry's own threads and stub processes too, so it only backstops, at
 * gvisorHostTasks: at `limits.pids` itself the sentry fails to make a thread and the whole
 * sandbox dies; at the backstop it does too (a fork bomb that keeps going gets there in seconds),
 * and the task ends as INFRASTRUCTURE / SANDBOX (executor/sandbox-ended.ts). Pure.
 */
export function runtimeLimits(spec: SandboxSpec): ContainerSpec["limits"] {
  if (spec.hardening?.runtime === undefined) return spec.limits;
  const { pids } = spec.limits;
  return { ...spec.limits, nproc: pids, pids: gvisorHostTasks(pids) };
}

/** The bridge network every egress sidecar joins (its containers cannot reach each other). */
export const EGRESS_NETWORK = "ocbox-egress";

/** What the sidecar needs to know at start beyond the plan: the host's addresses, the relay. */
export interface SidecarContext {
  /** Every address of the engine's host (its interfaces, the bridge gateways), refused by squid. */
  hostAddrs: readonly string[];
  /** Whether the relay volume exists (host ports, or a gateway only the host reaches). */
  hostRelay: boolean;
  /** "exec": nothing is published; the server relay listens on the sidecar's own loopback only. */
  transport?: "port" | "exec";
}

const sidecarHardening = () => {
  // Always the full profile: ocbox.yaml's `hardening` is about the agent container.
  const { readOnlyRoot, capDrop, capAdd, securityOpt } = hardeningOptions();
  return { readOnlyRoot, capDrop, capAdd, securityOpt };
};

/**
 * The egress sidecar: the sandbox's only way in or out. It runs squid in a network namespace of
 * its own (EGRESS_NETWORK, a bridge), publishes the server on the engine host's 127.0.0.1, and
 * talks to the agent only through the socket volume. It never shares the host's namespace:
 * host ports and upstreams on the host's loopback go through the host relay (below).
 */
export function egressContainer(
  spec: SandboxSpec,
  names: Names,
  hostPort: number,
  labels: Record<string, string>,
  egress?: EgressPlan,
  context: SidecarContext = { hostAddrs: [], hostRelay: false },
): ContainerSpec {
  const { uid, gid } = spec.agentUser;
  const exec = context.transport === "exec";
  return {
    ...logRotation,
    ...sidecarHardening(),
    name: names.egress,
    image: spec.images.egress,
    labels,
    user: `${uid}:${gid}`,
    env: {
      OCBOX_PUBLISH: `${exec ? "127.0.0.1" : "0.0.0.0"}:${PUBLISH_PORT}`,
      ...(egress
        ? {
            OCBOX_PROXY_PORT: String(egress.proxyPort),
            OCBOX_RELAYS: egress.relays.join(" "),
            OCBOX_GATEWAY_RELAYS: egress.gatewayRelays.join(" "),
            OCBOX_UPSTREAM_PORTS: egress.upstreamPorts.join(" "),
            OCBOX_HOST_ADDRS: context.hostAddrs.join(" "),
          }
        : {}),
    },
    networkMode: EGRESS_NETWORK,
    publish: exec ? [] : [{ hostIp: "127.0.0.1", hostPort, containerPort: PUBLISH_PORT }],
    mounts: [
      { type: "volume", source: names.socketVolume, target: SOCKET_DIR },
      // Filled through the archive API before it starts; no host dir (decision 9).
      ...(egress ? [{ type: "volume" as const, source: egress.volume, target: EGRESS_DIR }] : []),
      ...(context.hostRelay
        ? [{ type: "volume" as const, source: names.relayVolume, target: RELAY_DIR }]
        : []),
    ],
    ...(egress
      ? {
          healthcheck: {
            test: ["CMD", "bash", "-c", `exec 3<>/dev/tcp/127.0.0.1/${egress.proxyPort}`],
            intervalS: 10,
            timeoutS: 3,
            retries: 3,
            startPeriodS: 5,
          },
        }
      : {}),
    tmpfs: { "/tmp": "rw,nosuid,nodev,noexec,size=16m,mode=1777" },
    limits: { memoryBytes: 128 * 1024 ** 2, nanoCpus: 1e9, pids: 256, nofile: 4096 },
    stopTimeout: 3,
  };
}

/**
 * The host relay: the only container of a sandbox in the host's network namespace, and only when
 * host ports (B3) or gateway upstreams only the host reaches (B4) are listed. It runs socat and
 * nothing that parses a request: fwd-PORT.sock in the agent's socket volume to the host's
 * 127.0.0.1:PORT, and up-gwN.sock in the relay volume (squid's, never the agent's) to the upstream.
 */
export function hostRelayContainer(
  spec: SandboxSpec,
  names: Names,
  labels: Record<string, string>,
  egress?: EgressPlan,
): ContainerSpec {
  const { uid, gid } = spec.agentUser;
  return {
    ...logRotation,
    ...sidecarHardening(),
    name: names.relay,
    image: spec.images.egress,
    labels,
    user: `${uid}:${gid}`,
    env: {
      OCBOX_FORWARD_PORTS: spec.forwardPorts.join(" "),
      OCBOX_UPSTREAMS: (egress?.upstreams ?? []).join(" "),
    },
    networkMode: "host",
    mounts: [
      { type: "volume", source: names.socketVolume, target: SOCKET_DIR },
      { type: "volume", source: names.relayVolume, target: RELAY_DIR },
    ],
    tmpfs: { "/tmp": "rw,nosuid,nodev,noexec,size=1m,mode=1777" },
    limits: { memoryBytes: 32 * 1024 ** 2, nanoCpus: 5e8, pids: 128, nofile: 4096 },
    stopTimeout: 1,
  };
}
