/**
 * The agent container of a benchmark task (issue 15, item 3): the task's own image instead of
 * ocbox's sandbox image, OpenCode and ocbox's entrypoint from the read-only payload volume, and
 * the same hardening otherwise: NetworkMode none with the egress sidecar's sockets, CapDrop ALL
 * (a root task gets the named package-manager set back), no-new-privileges, the ocbox seccomp
 * profile, limits from the task. The image's root filesystem stays writable (the container is
 * thrown away, and no host path is mounted: not even a workspace). Pure.
 */
import { PAYLOAD_DIR, PAYLOAD_LOADER } from "../image/payload.js";
import { RUN_DIR, SOCKET_DIR, AGENT_HOME } from "../image/dockerfile.js";
import type { ContainerSpec } from "../runtime/engine.js";
import { LABEL } from "../runtime/labels.js";
import { AGENT_DNS, type EgressPlan } from "./egress-sidecar.js";
import { DEFAULT_HARDENING, hardeningOptions } from "./hardening.js";
import { modelsFileEnv } from "./models-file.js";
import type { SandboxSpec, TaskImageSandbox } from "./spec.js";

export type { TaskImageSandbox };

/** The entrypoint of a task container: the payload's bash through the payload's loader. */
export const TASK_ENTRYPOINT = [
  ...PAYLOAD_LOADER,
  `${PAYLOAD_DIR}/bin/bash`,
  `${PAYLOAD_DIR}/agent-entrypoint.sh`,
];

/** The home of the agent in a task image: /root for root, a tmpfs of its own otherwise. */
export const taskHome = (t: TaskImageSandbox) => (t.root ? "/root" : AGENT_HOME);

export function taskAgentContainer(
  spec: SandboxSpec & { taskImage: TaskImageSandbox },
  names: { agent: string; runVolume: string; socketVolume: string },
  labels: Record<string, string>,
  egress?: EgressPlan,
): ContainerSpec {
  const t = spec.taskImage;
  const [uid, gid] = t.user.split(":");
  const h = spec.hardening ?? DEFAULT_HARDENING;
  const hardening = hardeningOptions({ ...h, readOnlyRoot: false, capAdd: [...h.capAdd, ...t.capAdd] });
  return {
    logMaxSize: "10m",
    logMaxFiles: 3,
    ...hardening,
    name: names.agent,
    image: t.image,
    labels: { ...labels, [LABEL.workspaceTarget]: t.workdir },
    user: t.user,
    entrypoint: TASK_ENTRYPOINT,
    cmd: [],
    env: {
      ...t.env,
      ...spec.env,
      ...(egress?.agentEnv ?? {}),
      HOME: taskHome(t),
      XDG_CONFIG_HOME: `${PAYLOAD_DIR}/config`,
      OPENCODE_DISABLE_MODELS_FETCH: "1",
      OPENCODE_DISABLE_AUTOUPDATE: "1",
      OPENCODE_DISABLE_SHARE: "1",
      OPENCODE_DISABLE_LSP_DOWNLOAD: "1",
      OCBOX_FORWARD_PORTS: [...spec.forwardPorts, ...(egress?.agentPorts ?? [])].join(" "),
      OCBOX_SERVER_LOG_LEVEL: spec.server.logLevel,
      OCBOX_PRINT_LOGS: spec.server.printLogs ? "1" : "0",
      ...(t.lib64FromPayload ? { OCBOX_OPENCODE_LIBS: "/lib64" } : {}),
      ...(spec.opencodeConfig ? { OPENCODE_CONFIG: `${RUN_DIR}/opencode.json` } : {}),
      ...modelsFileEnv(spec),
    },
    workingDir: t.workdir,
    networkMode: "none",
    mounts: [
      { type: "volume", source: t.payloadVolume, target: PAYLOAD_DIR, readOnly: true },
      ...(t.lib64FromPayload
        ? [{ type: "volume" as const, source: t.payloadVolume, target: "/lib64", readOnly: true }]
        : []),
      { type: "volume", source: names.runVolume, target: RUN_DIR },
      { type: "volume", source: names.socketVolume, target: SOCKET_DIR },
    ],
    ...(egress ? { dns: AGENT_DNS } : {}),
    tmpfs: t.root ? {} : { [AGENT_HOME]: `rw,nosuid,nodev,size=512m,mode=0700,uid=${uid},gid=${gid}` },
    limits: spec.limits,
    stopTimeout: 10,
  };
}
