/**
 * The ocbox seccomp profile (FEATURES C3). A custom profile replaces the engine's default rather
 * than adding to it, so ocbox starts from Docker's default profile (kept verbatim in
 * `assets/seccomp/docker-default.json`) and only removes syscalls from it; it never writes an
 * allowlist of its own. The result is shipped as `assets/seccomp/ocbox.json`, and a unit test checks
 * that the shipped file is exactly `deriveProfile(docker-default)`.
 *
 * A removed syscall falls to the profile's default action: it fails with EPERM.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { packageRoot } from "../util/paths.js";

export interface SeccompRule {
  names: string[];
  action: string;
  [key: string]: unknown;
}

export interface SeccompProfile {
  defaultAction: string;
  syscalls: SeccompRule[];
  [key: string]: unknown;
}

/**
 * Syscalls the agent never needs, removed from every rule of Docker's default (including rules
 * that only apply when a capability is present, so adding a capability back does not re-open them).
 */
export const BLOCKED_SYSCALLS = [
  // debugging and reading other processes' memory
  "ptrace",
  "process_vm_readv",
  "process_vm_writev",
  "process_madvise",
  "kcmp",
  "pidfd_getfd",
  // mounts and the new mount API
  "mount",
  "umount",
  "umount2",
  "mount_setattr",
  "move_mount",
  "open_tree",
  "fsopen",
  "fsconfig",
  "fsmount",
  "fspick",
  "pivot_root",
  "chroot",
  // namespaces
  "unshare",
  "setns",
  // the machine itself
  "reboot",
  "kexec_load",
  "kexec_file_load",
  "init_module",
  "finit_module",
  "delete_module",
  "swapon",
  "swapoff",
  "acct",
  "iopl",
  "ioperm",
  "settimeofday",
  "stime",
  "clock_settime",
  "clock_settime64",
  "sethostname",
  "setdomainname",
  "syslog",
  "vhangup",
  "quotactl",
  "quotactl_fd",
  "lookup_dcookie",
  // kernel attack surface that an agent's tools do not use
  "bpf",
  "perf_event_open",
  "keyctl",
  "add_key",
  "request_key",
  "userfaultfd",
  "io_uring_setup",
  "io_uring_enter",
  "io_uring_register",
  "fanotify_init",
  "name_to_handle_at",
  "open_by_handle_at",
] as const;

export const PROFILE_COMMENT =
  "ocbox seccomp profile: Docker's default profile minus the syscalls in BLOCKED_SYSCALLS (src/image/seccomp.ts). Generated; do not edit.";

/** Docker's default profile minus `blocked`. Pure: the input is not changed. */
export function deriveProfile(
  base: SeccompProfile,
  blocked: readonly string[] = BLOCKED_SYSCALLS,
): SeccompProfile {
  const drop = new Set(blocked);
  const syscalls: SeccompRule[] = [];
  for (const rule of base.syscalls) {
    if (rule.action !== "SCMP_ACT_ALLOW") {
      syscalls.push(rule);
      continue;
    }
    const names = rule.names.filter((n) => !drop.has(n));
    if (names.length > 0) syscalls.push({ ...rule, names });
  }
  return { ...base, comment: PROFILE_COMMENT, syscalls };
}

/** The syscalls a profile allows in some rule (for tests and the startup summary). */
export function allowedSyscalls(profile: SeccompProfile): Set<string> {
  return new Set(profile.syscalls.filter((r) => r.action === "SCMP_ACT_ALLOW").flatMap((r) => r.names));
}

export function seccompAssetPath(name: "ocbox.json" | "docker-default.json"): string {
  return join(packageRoot(), "assets", "seccomp", name);
}

let cached: string | undefined;

/** The shipped profile as compact JSON, for `SecurityOpt: ["seccomp=<json>"]`. */
export function ocboxSeccompJson(): string {
  cached ??= JSON.stringify(
    JSON.parse(readFileSync(seccompAssetPath("ocbox.json"), "utf8")) as SeccompProfile,
  );
  return cached;
}

/** The security option that applies the ocbox profile through the Engine API. */
export function seccompSecurityOpt(): string {
  return `seccomp=${ocboxSeccompJson()}`;
}
