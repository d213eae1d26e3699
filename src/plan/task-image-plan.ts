/**
 * A benchmark task's sandbox (issue 15, item 3), as a variant of the one profile every entry
 * point shares: the same egress, env rules, OpenCode config and hardening, with the agent in the
 * task's own image. Decided here: who the agent is (root or not), its capabilities, where it
 * works, its limits. Pure.
 *
 * Root: a task whose `[agent].user` is root, or unset on an image whose USER is root, runs as
 * uid 0, with ROOT_TASK_CAPS where no stronger runtime (gVisor) isolates it, and is warned about
 * (key `task.root`). Every other task runs as its uid with no capabilities at all.
 */
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
  /** The image's /etc/passwd (for a user given by name); undefined when it has none. */
  passwd?: string | undefined;
}

export class TaskUserError extends Error {}

const ROOT_NAMES = new Set(["", "root", "0", "0:0"]);

/** uid:gid of a user as the image knows it; throws TaskUserError for a name it does not have. */
export function resolveTaskUser(user: string, passwd: string | undefined): string {
  const [name = "", group] = user.split(":");
  if (/^\d+$/.test(name)) return `${name}:${group && /^\d+$/.test(group) ? group : name}`;
  for (const line of (passwd ?? "").split("\n")) {
    const f = line.split(":");
    if (f[0] === name && f[2] && /^\d+$/.test(f[2]))
      return `${f[2]}:${f[3] && /^\d+$/.test(f[3]) ? f[3] : f[2]}`;
  }
  throw new TaskUserError(`user ${JSON.stringify(name)} is not in the image's /etc/passwd`);
}

export function taskImageProfile(base: SandboxProfile, f: TaskImageFacts): SandboxProfile {
  const wanted = f.agentUser === undefined ? f.imageUser : String(f.agentUser);
  const root = ROOT_NAMES.has(wanted) || resolveTaskUser(wanted, f.passwd).startsWith("0:");
  const user = root ? "0:0" : resolveTaskUser(wanted, f.passwd);
  return {
    ...base,
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
      capAdd: root ? [...ROOT_TASK_CAPS] : [],
      workdir: f.workdir ?? (f.imageWorkdir || "/"),
      payloadVolume: f.payloadVolume,
      lib64FromPayload: f.lib64FromPayload,
      // OpenCode's bash tool runs $SHELL when it has no bash of its own to find.
      env: f.bash ? f.env : { SHELL: "/bin/sh", ...f.env },
    },
  };
}
