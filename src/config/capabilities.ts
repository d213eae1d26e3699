/**
 * Linux capability names as the engine takes them (`CapAdd: ["NET_BIND_SERVICE"]`), for checking
 * `hardening.capAdd` in ocbox.yaml before anything starts. Pure.
 */
import type { Problem } from "./checks.js";
import { didYouMean } from "./did-you-mean.js";

/** capabilities(7), in kernel order (the bit number is the index). */
export const CAPABILITIES = [
  "CHOWN",
  "DAC_OVERRIDE",
  "DAC_READ_SEARCH",
  "FOWNER",
  "FSETID",
  "KILL",
  "SETGID",
  "SETUID",
  "SETPCAP",
  "LINUX_IMMUTABLE",
  "NET_BIND_SERVICE",
  "NET_BROADCAST",
  "NET_ADMIN",
  "NET_RAW",
  "IPC_LOCK",
  "IPC_OWNER",
  "SYS_MODULE",
  "SYS_RAWIO",
  "SYS_CHROOT",
  "SYS_PTRACE",
  "SYS_PACCT",
  "SYS_ADMIN",
  "SYS_BOOT",
  "SYS_NICE",
  "SYS_RESOURCE",
  "SYS_TIME",
  "SYS_TTY_CONFIG",
  "MKNOD",
  "LEASE",
  "AUDIT_WRITE",
  "AUDIT_CONTROL",
  "SETFCAP",
  "MAC_OVERRIDE",
  "MAC_ADMIN",
  "SYSLOG",
  "WAKE_ALARM",
  "BLOCK_SUSPEND",
  "AUDIT_READ",
  "PERFMON",
  "BPF",
  "CHECKPOINT_RESTORE",
] as const;

export type Capability = (typeof CAPABILITIES)[number];

const KNOWN = new Set<string>(CAPABILITIES);

/** The bit of a capability in /proc/<pid>/status's Cap* masks. */
export function capabilityBit(name: Capability): number {
  return CAPABILITIES.indexOf(name);
}

/** A name for `hardening.capAdd`: upper case, without `CAP_`, one of capabilities(7), never ALL. */
export function capabilityProblem(name: string): Problem | undefined {
  if (name.toUpperCase() === "ALL") {
    return {
      problem: "ALL would add back every capability",
      fix: "name each capability the agent needs, e.g. [NET_BIND_SERVICE]",
    };
  }
  const bare = name.toUpperCase().replace(/^CAP_/, "");
  if (KNOWN.has(bare)) {
    return bare === name
      ? undefined
      : { problem: `"${name}" is not written as ocbox expects`, fix: `write ${bare}` };
  }
  const near = didYouMean(bare, CAPABILITIES);
  return {
    problem: `"${name}" is not a Linux capability`,
    fix: near
      ? `did you mean ${near}?`
      : "see capabilities(7); write the name without CAP_, e.g. NET_BIND_SERVICE",
  };
}
