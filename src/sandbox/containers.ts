import type { EgressPlan } from "../egress/sidecar.js";
import { AGENT_HOME, EGRESS_DIR, RUN_DIR, SOCKET_DIR, WORKSPACE, SERVER_PORT } from "../image/dockerfile.js";
import type { ContainerSpec } from "../runtime/engine.js";
import { LABEL } from "../runtime/labels.js";
import { aptAgentEnv, aptAgentMounts } from "./apt-helper.js";
import { cacheMounts } from "./cache-volumes.js";
import { hardeningOptions } from "./hardening.js";
import type { SandboxSpec } from "./spec.js";

export interface Names {
  agent: string;
  egress: string;
  socketVolume: string;
}

/** Names of a sandbox's resources: readable, unique per run. */
export function resourceNames(sandboxId: string, runId: string): Names {
  const base = `ocbox-${sandboxId}-${runId}`;
  return { agent: `${base}-agent`, egress: `${base}-egress`, socketVolume: `${base}-sock` };
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
  runDir: string,
  labels: Record<string, string>,
  egress?: EgressPlan,
  dockerSocketGid?: number,
): ContainerSpec {
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
      ...(docker ? { DOCKER_HOST: `unix://${DOCKER_SOCKET}` } : {}),
      // C9: the apt helper's prefix on PATH and LD_LIBRARY_PATH (only with apt.allow).
      ...aptAgentEnv(spec),
    },
    workingDir: target,
    networkMode: "none",
    mounts: [
      ...[target, ...(spec.workspaceAlias ? [spec.workspaceAlias] : [])].flatMap((at) => [
        { type: "bind" as const, source: spec.workspace, target: at },
        // E11: performance volumes over workspace dirs (the engine mounts them after the workspace).
        ...cacheMounts(spec.cacheVolumes ?? [], at),
      ]),
      { type: "bind", source: runDir, target: RUN_DIR, readOnly: true },
      { type: "volume", source: names.socketVolume, target: SOCKET_DIR },
      ...aptAgentMounts(spec),
      ...(spec.dataDir
        ? [{ type: "bind" as const, source: spec.dataDir, target: `${AGENT_HOME}/.local/share/opencode` }]
        : []),
      // A per-container copy (D2): OpenCode may refresh tokens in it; the host file is never written.
      ...(spec.authFile !== undefined && spec.dataDir
        ? [
            {
              type: "bind" as const,
              source: `${runDir}/auth.json`,
              target: `${AGENT_HOME}/.local/share/opencode/auth.json`,
            },
          ]
        : []),
      ...(spec.extraMounts ?? []),
      ...(docker ? [{ type: "bind" as const, source: DOCKER_SOCKET, target: DOCKER_SOCKET }] : []),
      // No usable resolver: no DNS query can leave (B2, CVE-2024-29018); the proxy resolves names.
      ...(egress
        ? [{ type: "bind" as const, source: egress.resolvConf, target: "/etc/resolv.conf", readOnly: true }]
        : []),
    ],
    tmpfs: {
      "/tmp": "rw,nosuid,nodev,size=1g,mode=1777",
      [AGENT_HOME]: home,
    },
    limits: spec.limits,
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
 * The egress sidecar: the sandbox's only way in or out. It shares the host's network namespace
 * so that it can publish the server on the host's 127.0.0.1 and reach services the user runs on
 * the host's loopback, and it talks to the agent only through the socket volume.
 */
export function egressContainer(
  spec: SandboxSpec,
  names: Names,
  hostPort: number,
  labels: Record<string, string>,
  egress?: EgressPlan,
): ContainerSpec {
  const { uid, gid } = spec.agentUser;
  // Always the full profile: ocbox.yaml's `hardening` is about the agent container. No sysctls:
  // the sidecar shares the host's network namespace.
  const { readOnlyRoot, capDrop, capAdd, securityOpt } = hardeningOptions();
  return {
    ...logRotation,
    readOnlyRoot,
    capDrop,
    capAdd,
    securityOpt,
    name: names.egress,
    image: spec.images.egress,
    labels,
    user: `${uid}:${gid}`,
    env: {
      OCBOX_FORWARD_PORTS: spec.forwardPorts.join(" "),
      OCBOX_PUBLISH: `127.0.0.1:${hostPort}`,
      ...(egress
        ? {
            OCBOX_PROXY_PORT: String(egress.proxyPort),
            OCBOX_RELAYS: egress.relays.join(" "),
            OCBOX_GATEWAY_RELAYS: egress.gatewayRelays.join(" "),
          }
        : {}),
    },
    networkMode: "host",
    mounts: [
      { type: "volume", source: names.socketVolume, target: SOCKET_DIR },
      ...(egress ? [{ type: "bind" as const, source: egress.dir, target: EGRESS_DIR }] : []),
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
