/**
 * The agent container's hardening profile as data (issue 4, FEATURES C): from the `hardening` key
 * of ocbox.yaml to the container options, and the list of weakenings that the startup summary
 * warns about. Pure.
 *
 * Fixed, not switches: the non-root user (uid 0 in a container is uid 0 on the host without a user
 * namespace, and the workspace would fill with root-owned files), `CapDrop: ALL` before any
 * `capAdd`, `NetworkMode: none`, the limits' floor, and tini as PID 1 (in the image's entrypoint,
 * so the engine's `Init` option would only add a second init).
 */
import type { HardeningConfig } from "../config/hardening-schema.js";
import { gvisorEngineDefaultSecurityOpt, gvisorSeccompSecurityOpt } from "../image/gvisor-seccomp.js";
import { seccompSecurityOpt } from "../image/seccomp.js";
import type { ContainerSpec } from "../runtime/engine.js";

export interface Hardening {
  readOnlyRoot: boolean;
  noNewPrivileges: boolean;
  seccomp: "ocbox" | "engine-default" | "unconfined";
  /** Capabilities added back after `CapDrop: ALL`. */
  capAdd: string[];
  /** Ping sockets for every group (the engine's default); false sets ping_group_range to `1 0`. */
  icmp: boolean;
  /**
   * The OCI runtime of the agent container by its registered name (gVisor's `runsc`); absent:
   * the engine's default. Checked against the engine's /info at start (runtime-check.ts).
   */
  runtime?: string;
  /**
   * The runtime of a root benchmark task (plan/task-image-plan.ts): "auto" (gVisor where
   * registered), "runc", or a registered name. Not a container option itself.
   */
  rootTaskRuntime?: string;
}

export const DEFAULT_HARDENING: Readonly<Hardening> = Object.freeze({
  readOnlyRoot: true,
  noNewPrivileges: true,
  seccomp: "ocbox",
  capAdd: [],
  icmp: false,
});

/** The hardening of a config (absent keys: the hardened default). */
export function hardeningFromConfig(config: Partial<HardeningConfig> | undefined): Hardening {
  return {
    readOnlyRoot: config?.readOnlyRoot ?? DEFAULT_HARDENING.readOnlyRoot,
    noNewPrivileges: config?.noNewPrivileges ?? DEFAULT_HARDENING.noNewPrivileges,
    seccomp: config?.seccomp ?? DEFAULT_HARDENING.seccomp,
    capAdd: [...(config?.capAdd ?? [])],
    icmp: config?.icmp ?? DEFAULT_HARDENING.icmp,
    ...(config?.runtime !== undefined ? { runtime: config.runtime } : {}),
    ...(config?.rootTaskRuntime !== undefined && config.rootTaskRuntime !== "auto"
      ? { rootTaskRuntime: config.rootTaskRuntime }
      : {}),
  };
}

/** The seccomp option: the profile as gVisor reads it when a runtime is chosen (gvisor-seccomp.ts). */
function seccompOptions(h: Hardening): string[] {
  if (h.seccomp === "unconfined") return ["seccomp=unconfined"];
  if (h.runtime !== undefined)
    return [h.seccomp === "ocbox" ? gvisorSeccompSecurityOpt() : gvisorEngineDefaultSecurityOpt()];
  return h.seccomp === "ocbox" ? [seccompSecurityOpt()] : [];
}

/** The container options of a hardening profile (the sidecar always gets the default). */
export function hardeningOptions(
  h: Hardening = DEFAULT_HARDENING,
): Pick<ContainerSpec, "readOnlyRoot" | "capDrop" | "capAdd" | "securityOpt" | "sysctls" | "runtime"> {
  const seccomp = seccompOptions(h);
  return {
    ...(h.runtime !== undefined ? { runtime: h.runtime } : {}),
    readOnlyRoot: h.readOnlyRoot,
    capDrop: ["ALL"],
    capAdd: [...h.capAdd],
    securityOpt: [...(h.noNewPrivileges ? ["no-new-privileges:true"] : []), ...seccomp],
    // No ICMP sockets for any group (Docker opens ping sockets to all groups by default).
    ...(h.icmp ? {} : { sysctls: { "net.ipv4.ping_group_range": "1 0" } }),
  };
}

/** Each weakening as its config key and the WARNING text of the startup summary. */
export function hardeningWeakenings(h: Hardening): Array<{ key: string; warning: string }> {
  const out: Array<{ key: string; warning: string }> = [];
  if (!h.readOnlyRoot)
    out.push({
      key: "hardening.readOnlyRoot",
      warning: "the root filesystem is writable: the agent can change the image's files it owns",
    });
  if (!h.noNewPrivileges)
    out.push({
      key: "hardening.noNewPrivileges",
      warning:
        "no-new-privileges is off: setuid binaries (su, mount) and file capabilities can raise privileges",
    });
  if (h.seccomp === "engine-default")
    out.push({
      key: "hardening.seccomp",
      warning:
        "the engine's default seccomp profile: ptrace, process_vm_readv, io_uring and more are allowed again",
    });
  if (h.seccomp === "unconfined")
    out.push({
      key: "hardening.seccomp",
      warning: "no seccomp filter: every system call the kernel has is open to the agent",
    });
  if (h.capAdd.length > 0)
    out.push({
      key: "hardening.capAdd",
      warning: `capabilities added back: ${h.capAdd.join(", ")}`,
    });
  if (h.icmp)
    out.push({
      key: "hardening.icmp",
      warning: "every group may open ping (ICMP) sockets",
    });
  return out;
}
