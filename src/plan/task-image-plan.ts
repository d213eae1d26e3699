/**
 * A benchmark task's sandbox (issue 15, item 3), as a variant of the one profile every entry
 * point shares: the same egress, env rules, OpenCode config and hardening, with the agent in the
 * task's own image. Decided here: who the agent is (root or not), its capabilities, where it
 * works, its limits. Pure.
 *
 * Root: a task whose `[agent].user` is root, or unset on an image whose USER is root, runs as
 * uid 0 with ROOT_TASK_CAPS, under gVisor where the engine registers it as ocbox needs
 * (`hardening.rootTaskRuntime: auto`, the default), and is warned about (key `task.root`). Every
 * other task runs as its uid with no capabilities at all.
 */
import { parsePasswd, type PasswdEntry } from "../image/passwd.js";
import { DEFAULT_HARDENING } from "../sandbox/hardening.js";
import type { SandboxProfile } from "./sandbox-profile.js";

/** What a package manager needs as root (apt drops to _apt; dpkg chowns and keeps modes). */
export const ROOT_TASK_CAPS = [
  "CHOWN",
  "DAC_OVERRIDE",
  "FOWNER",
  "FSETID",
  "SETUID",
  "SETGID",
  "KILL",
] as const;

export interface TaskImageFacts {
  image: string;
  /** The image's USER and WORKDIR ("" = root, /). */
  imageUser: string;
  imageWorkdir: string;
  /** The image has no /lib64 (musl, static): the payload's loader goes there. */
  lib64FromPayload: boolean;
  payloadVolume: string;
  /** The image has a bash; without one the agent's tools use /bin/sh. */
  bash: boolean;
  /** `[agent].user`, `[environment].workdir`, cpus, memory_mb and env. */
  agentUser?: string | number | undefined;
  workdir?: string | undefined;
  cpus: number;
  memoryMb: number;
  env: Record<string, string>;
  /** The image's /etc/passwd, parsed (passwd.ts); undefined when it has none. */
  passwd?: readonly PasswdEntry[] | undefined;
  /**
   * The engine's runtimes that are gVisor registered as ocbox needs it (runtime-check.ts), for a
   * root task under `hardening.rootTaskRuntime: auto`; absent or empty: none.
   */
  gvisorRuntimes?: readonly string[] | undefined;
}

export class TaskUserError extends Error {}

const ROOT_NAMES = new Set(["", "root", "0", "0:0"]);

/** The entries of a passwd file's text (for callers that read it). Pure. */
export const passwdEntries = (text: string | undefined): PasswdEntry[] | undefined =>
  text === undefined ? undefined : parsePasswd(text);

/** uid:gid of a user as the image knows it; throws TaskUserError for a name it does not have. */
export function resolveTaskUser(user: string, passwd: readonly PasswdEntry[] | undefined): string {
  const [name = "", group] = user.split(":");
  if (/^\d+$/.test(name)) return `${name}:${group && /^\d+$/.test(group) ? group : name}`;
  const e = passwd?.find((p) => p.name === name);
  if (e) return `${e.uid}:${group && /^\d+$/.test(group) ? group : e.gid}`;
  if (!passwd)
    throw new TaskUserError(`user ${JSON.stringify(name)}: the image has no /etc/passwd to look it up in`);
  // Login users (root and uid 1000 and up) first: the names a task means.
  const login = (p: PasswdEntry) => p.uid === 0 || (p.uid >= 1000 && p.uid < 65534);
  const known = [...passwd.filter(login), ...passwd.filter((p) => !login(p))].map((p) => p.name).slice(0, 12);
  throw new TaskUserError(
    `user ${JSON.stringify(name)} is not in the image's /etc/passwd (it has ${known.join(", ") || "no valid entry"}${passwd.length > known.length ? ", …" : ""})`,
  );
}

/** The agent's uid:gid and whether it is root, from `[agent].user` or the image's USER. */
export function taskUser(f: Pick<TaskImageFacts, "agentUser" | "imageUser" | "passwd">): {
  user: string;
  root: boolean;
} {
  const wanted = f.agentUser === undefined ? f.imageUser : String(f.agentUser);
  if (ROOT_NAMES.has(wanted)) return { user: "0:0", root: true };
  const user = resolveTaskUser(wanted, f.passwd);
  return user.startsWith("0:") ? { user: "0:0", root: true } : { user, root: false };
}

/**
 * The runtime of a root task: `hardening.runtime` when set (every sandbox's), else
 * `hardening.rootTaskRuntime` (auto: the first gVisor the engine registers, runsc preferred;
 * runc: the engine's default). Undefined: the engine's default.
 */
export function rootTaskRuntime(
  hardening: SandboxProfile["hardening"],
  gvisor: readonly string[] | undefined,
): string | undefined {
  if (hardening?.runtime !== undefined) return hardening.runtime;
  const wanted = hardening?.rootTaskRuntime ?? "auto";
  if (wanted === "runc") return undefined;
  if (wanted !== "auto") return wanted;
  const names = gvisor ?? [];
  return names.includes("runsc") ? "runsc" : names[0];
}

export function taskImageProfile(base: SandboxProfile, f: TaskImageFacts): SandboxProfile {
  const { user, root } = taskUser(f);
  const runtime = root ? rootTaskRuntime(base.hardening, f.gvisorRuntimes) : base.hardening?.runtime;
  const { rootTaskRuntime: _chosen, runtime: _base, ...hardening } = base.hardening ?? DEFAULT_HARDENING;
  return {
    ...base,
    hardening: { ...hardening, ...(runtime !== undefined ? { runtime } : {}) },
    limits: {
      ...base.limits,
      nanoCpus: Math.round(f.cpus * 1e9),
      memoryBytes: f.memoryMb * 1024 ** 2,
    },
    // Task sandboxes never mount host paths: no performance volumes, no apt helper, no docker socket.
    cacheVolumes: undefined,
    aptAllow: undefined,
    hostDockerSocket: false,
    taskImage: {
      image: f.image,
      user,
      root,
      // Under gVisor too: apt and dpkg need them in gVisor's own kernel (they reach no host kernel).
      capAdd: root ? [...ROOT_TASK_CAPS] : [],
      workdir: f.workdir ?? (f.imageWorkdir || "/"),
      payloadVolume: f.payloadVolume,
      lib64FromPayload: f.lib64FromPayload,
      // OpenCode's bash tool runs $SHELL when it has no bash of its own to find.
      env: f.bash ? f.env : { SHELL: "/bin/sh", ...f.env },
    },
  };
}
