import { readFileSync } from "node:fs";
import { expect, it } from "vitest";
import {
  BLOCKED_SYSCALLS,
  allowedSyscalls,
  deriveProfile,
  ocboxSeccompJson,
  seccompAssetPath,
  type SeccompProfile,
} from "../../src/image/seccomp.js";

const load = (name: "ocbox.json" | "docker-default.json") =>
  JSON.parse(readFileSync(seccompAssetPath(name), "utf8")) as SeccompProfile;

it("the shipped profile is exactly Docker's default minus the blocked syscalls", () => {
  expect(load("ocbox.json")).toEqual(deriveProfile(load("docker-default.json")));
});

it("the profile only removes: everything it allows, Docker's default allows too", () => {
  const base = allowedSyscalls(load("docker-default.json"));
  const ours = allowedSyscalls(load("ocbox.json"));
  for (const name of ours) expect(base.has(name)).toBe(true);
  for (const name of BLOCKED_SYSCALLS) expect(ours.has(name)).toBe(false);
  // The calls the issue names are among the blocked ones.
  for (const name of [
    "ptrace",
    "mount",
    "umount2",
    "reboot",
    "init_module",
    "finit_module",
    "kexec_load",
    "swapon",
    "swapoff",
    "bpf",
    "perf_event_open",
    "keyctl",
    "unshare",
    "setns",
    "userfaultfd",
    "io_uring_setup",
  ]) {
    expect(BLOCKED_SYSCALLS).toContain(name);
  }
  // Everyday calls survive.
  for (const name of [
    "read",
    "write",
    "openat",
    "clone",
    "execve",
    "socket",
    "connect",
    "epoll_wait",
    "futex",
  ]) {
    expect(ours.has(name)).toBe(true);
  }
  expect(load("ocbox.json").defaultAction).toBe("SCMP_ACT_ERRNO");
  expect(JSON.parse(ocboxSeccompJson())).toEqual(load("ocbox.json"));
});
