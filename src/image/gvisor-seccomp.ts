/**
 * The ocbox seccomp profile as gVisor (`runsc --oci-seccomp`, Debian's 2022-12-19 build) applies
 * it. The sentry reads an OCI profile differently from the kernel in two ways that break an
 * agent's tools, both measured on this build:
 *
 * - It knows some x86_64 calls by another name and ignores a rule's name it does not know, so
 *   `pselect6` (glibc's `select()`, used by socat's relays and Python) fell to the default action
 *   (EPERM). Each such name gets gVisor's own name added to the same rule.
 * - It ignores `errnoRet`: Docker's `clone3` rule (ENOSYS, so glibc falls back to `clone`) became
 *   EPERM and every new thread failed (ripgrep). `SCMP_ACT_TRACE` with no tracer attached fails a
 *   call with ENOSYS in both the kernel and gVisor, and the agent cannot attach one (ptrace is
 *   blocked), so an ENOSYS rule becomes a TRACE rule.
 *
 * Nothing else changes: the same calls are allowed and blocked as in the profile given. Pure.
 */
import { readFileSync } from "node:fs";
import { ocboxSeccompJson, seccompAssetPath, type SeccompProfile, type SeccompRule } from "./seccomp.js";

/** The x86_64 names gVisor's syscall table spells differently (the name the engine uses → gVisor's). */
export const GVISOR_SYSCALL_NAMES: Readonly<Record<string, string>> = Object.freeze({
  pselect6: "pselect",
});

const ENOSYS = 38;

function adaptRule(rule: SeccompRule): SeccompRule {
  const aliases = rule.names.flatMap((n) => {
    const alias = GVISOR_SYSCALL_NAMES[n];
    return alias !== undefined && !rule.names.includes(alias) ? [alias] : [];
  });
  const names = [...rule.names, ...aliases];
  if (rule.action === "SCMP_ACT_ERRNO" && rule.errnoRet === ENOSYS) {
    const { errnoRet: _dropped, ...rest } = rule;
    return { ...rest, names, action: "SCMP_ACT_TRACE" };
  }
  return { ...rule, names };
}

/** `profile` as the gVisor sentry applies what it says. The input is not changed. */
export function gvisorProfile(profile: SeccompProfile): SeccompProfile {
  return { ...profile, syscalls: profile.syscalls.map(adaptRule) };
}

let cachedGvisor: string | undefined;

/** The security option of the ocbox profile adapted to gVisor's reading of it (gvisor-seccomp.ts). */
export function gvisorSeccompSecurityOpt(): string {
  cachedGvisor ??= JSON.stringify(gvisorProfile(JSON.parse(ocboxSeccompJson()) as SeccompProfile));
  return `seccomp=${cachedGvisor}`;
}

let cachedGvisorDefault: string | undefined;

/** Docker's default profile adapted the same way (`hardening.seccomp: engine-default` under gVisor). */
export function gvisorEngineDefaultSecurityOpt(): string {
  cachedGvisorDefault ??= JSON.stringify(
    gvisorProfile(
      JSON.parse(readFileSync(seccompAssetPath("docker-default.json"), "utf8")) as SeccompProfile,
    ),
  );
  return `seccomp=${cachedGvisorDefault}`;
}
