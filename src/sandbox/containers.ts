import { AGENT_HOME, RUN_DIR, SOCKET_DIR, WORKSPACE, SERVER_PORT } from "../image/dockerfile.js";
import type { ContainerSpec } from "../runtime/engine.js";
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

const hardening = {
  readOnlyRoot: true,
  capDrop: ["ALL"],
  capAdd: [] as string[],
  securityOpt: ["no-new-privileges:true"],
  logMaxSize: "10m",
  logMaxFiles: 3,
};

/** Driver options of the shared socket volume: a small tmpfs owned by the agent user. */
export function socketVolumeOptions(spec: SandboxSpec): Record<string, string> {
  const { uid, gid } = spec.agentUser;
  return { type: "tmpfs", device: "tmpfs", o: `size=1m,mode=0700,uid=${uid},gid=${gid}` };
}

/** The agent container: no network at all, read-only root, no capabilities, limits. Pure. */
export function agentContainer(
  spec: SandboxSpec,
  names: Names,
  runDir: string,
  labels: Record<string, string>,
): ContainerSpec {
  const { uid, gid } = spec.agentUser;
  const home = `rw,nosuid,nodev,size=512m,mode=0700,uid=${uid},gid=${gid}`;
  return {
    ...hardening,
    name: names.agent,
    image: spec.images.sandbox,
    labels,
    user: `${uid}:${gid}`,
    env: {
      ...spec.env,
      OCBOX_FORWARD_PORTS: spec.forwardPorts.join(" "),
      OCBOX_SERVER_LOG_LEVEL: spec.server.logLevel,
      OCBOX_PRINT_LOGS: spec.server.printLogs ? "1" : "0",
      ...(spec.opencodeConfig ? { OPENCODE_CONFIG: `${RUN_DIR}/opencode.json` } : {}),
    },
    workingDir: WORKSPACE,
    networkMode: "none",
    mounts: [
      { type: "bind", source: spec.workspace, target: WORKSPACE },
      { type: "bind", source: runDir, target: RUN_DIR, readOnly: true },
      { type: "volume", source: names.socketVolume, target: SOCKET_DIR },
      ...(spec.dataDir
        ? [{ type: "bind" as const, source: spec.dataDir, target: `${AGENT_HOME}/.local/share/opencode` }]
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
): ContainerSpec {
  const { uid, gid } = spec.agentUser;
  return {
    ...hardening,
    name: names.egress,
    image: spec.images.egress,
    labels,
    user: `${uid}:${gid}`,
    env: {
      OCBOX_FORWARD_PORTS: spec.forwardPorts.join(" "),
      OCBOX_PUBLISH: `127.0.0.1:${hostPort}`,
    },
    networkMode: "host",
    mounts: [{ type: "volume", source: names.socketVolume, target: SOCKET_DIR }],
    tmpfs: { "/tmp": "rw,nosuid,nodev,noexec,size=16m,mode=1777" },
    limits: { memoryBytes: 128 * 1024 ** 2, nanoCpus: 1e9, pids: 256, nofile: 4096 },
    stopTimeout: 3,
  };
}
