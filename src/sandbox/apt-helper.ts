/**
 * The apt helper (FEATURES C9): run-time installs of allowlisted Debian packages, without giving
 * the agent root. Started only when `apt.allow` names packages.
 *
 * A third container per sandbox, from the sandbox image, runs `ocbox-apt-helper` as the agent's
 * own uid with the sidecar's hardening (no capabilities, no-new-privileges, read-only root, the
 * ocbox seccomp profile). It fetches with apt's download-only mode as a non-root user (apt still
 * checks the archive's signatures) and unpacks each .deb with `dpkg -x` into the prefix volume, a
 * tmpfs that the agent mounts read-only at APT_PREFIX. Its Unix socket is in that volume too;
 * `ocbox-apt install` in the agent container talks to it. It shares no volume with the sidecar.
 *
 * Network: the helper is on the engine's default bridge network, because apt must reach the
 * image's Debian mirror and the agent's proxy allowlist should not have to include it (which
 * would open the mirror to the agent too). It runs only ocbox's fixed script; the agent's only
 * input is a request line whose names must each equal an allowlist entry (SECURITY.md).
 *
 * The container specs are pure; `startAptHelper` is the I/O.
 */
import { APT_PREFIX } from "../image/dockerfile.js";
import { hostCaBundle } from "../image/host-ca.js";
import type { ContainerSpec, Engine, Mount } from "../runtime/engine.js";
import type { ResourceRole } from "../runtime/labels.js";
import { hardeningOptions } from "./hardening.js";
import type { SandboxSpec } from "./spec.js";
import type { SandboxParts } from "./teardown.js";

/** Where the helper sees the host's CA bundle (for a mirror behind a TLS-intercepting proxy). */
export const APT_HELPER_CA = "/run/ocbox/host-ca.crt";
/** The PATH of the image (Docker's default), before the prefix's dirs. */
export const IMAGE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** The allowlist, without duplicates; empty when the feature is off. Pure. */
export function aptAllowList(spec: Pick<SandboxSpec, "aptAllow">): string[] {
  return [...new Set(spec.aptAllow ?? [])];
}

export function aptEnabled(spec: Pick<SandboxSpec, "aptAllow">): boolean {
  return aptAllowList(spec).length > 0;
}

/** Names of the helper's resources, next to the sandbox's own (see resourceNames). Pure. */
export function aptNames(spec: Pick<SandboxSpec, "sandboxId" | "runId">): {
  helper: string;
  prefixVolume: string;
} {
  const base = `ocbox-${spec.sandboxId}-${spec.runId}`;
  return { helper: `${base}-apt`, prefixVolume: `${base}-apt-pkgs` };
}

/** The prefix volume: a tmpfs owned by the agent's uid (the helper writes it as that uid). */
export function aptPrefixVolumeOptions(spec: Pick<SandboxSpec, "agentUser">): Record<string, string> {
  const { uid, gid } = spec.agentUser;
  return { type: "tmpfs", device: "tmpfs", o: `size=1g,mode=0755,uid=${uid},gid=${gid},nosuid,nodev` };
}

/** Debian's multiarch triplet for a Node/engine architecture name, if known. Pure. */
export function multiarchTriplet(arch: string): string | undefined {
  if (["x64", "x86_64", "amd64"].includes(arch)) return "x86_64-linux-gnu";
  if (["arm64", "aarch64"].includes(arch)) return "aarch64-linux-gnu";
  return undefined;
}

/**
 * The agent's PATH and LD_LIBRARY_PATH with the prefix's dirs, set from the start (also for
 * `docker exec`); the image's own dirs come first on PATH. `{}` when the feature is off. Pure.
 */
export function aptAgentEnv(
  spec: Pick<SandboxSpec, "aptAllow">,
  arch: string = process.arch,
): Record<string, string> {
  if (!aptEnabled(spec)) return {};
  const p = APT_PREFIX;
  const triplet = multiarchTriplet(arch);
  const bins = ["usr/local/bin", "usr/bin", "bin", "usr/sbin", "sbin"].map((d) => `${p}/${d}`);
  const libs = [
    ...(triplet ? [`${p}/usr/lib/${triplet}`, `${p}/lib/${triplet}`] : []),
    `${p}/usr/lib`,
    `${p}/lib`,
  ];
  return { PATH: [IMAGE_PATH, ...bins].join(":"), LD_LIBRARY_PATH: libs.join(":") };
}

/** The prefix volume in the agent container: read-only. `[]` when the feature is off. Pure. */
export function aptAgentMounts(spec: Pick<SandboxSpec, "aptAllow" | "sandboxId" | "runId">): Mount[] {
  if (!aptEnabled(spec)) return [];
  return [{ type: "volume", source: aptNames(spec).prefixVolume, target: APT_PREFIX, readOnly: true }];
}

/** The helper container. `caFile`: the host's CA bundle, mounted read-only for apt. Pure. */
export function aptHelperContainer(
  spec: SandboxSpec,
  labels: Record<string, string>,
  caFile?: string,
): ContainerSpec {
  const { uid, gid } = spec.agentUser;
  const names = aptNames(spec);
  // The full default profile, whatever ocbox.yaml's `hardening` says about the agent container.
  const { readOnlyRoot, capDrop, capAdd, securityOpt } = hardeningOptions();
  return {
    readOnlyRoot,
    capDrop,
    capAdd,
    securityOpt,
    logMaxSize: "10m",
    logMaxFiles: 3,
    name: names.helper,
    image: spec.images.sandbox,
    labels,
    user: `${uid}:${gid}`,
    entrypoint: ["/usr/bin/tini", "-g", "--", "/usr/local/bin/ocbox-apt-helper"],
    cmd: [],
    env: {
      OCBOX_APT_ALLOW: aptAllowList(spec).join(" "),
      ...(caFile ? { OCBOX_APT_CA: APT_HELPER_CA } : {}),
    },
    networkMode: "bridge",
    mounts: [
      { type: "volume", source: names.prefixVolume, target: APT_PREFIX },
      ...(caFile ? [{ type: "bind" as const, source: caFile, target: APT_HELPER_CA, readOnly: true }] : []),
    ],
    // apt's lists and downloads; executables only come from the image.
    tmpfs: { "/tmp": "rw,nosuid,nodev,noexec,size=512m,mode=1777" },
    limits: { memoryBytes: 1536 * 1024 ** 2, nanoCpus: 1e9, pids: 256, nofile: 4096 },
    stopTimeout: 3,
  };
}

/**
 * Start the helper when `apt.allow` names packages: its prefix volume, then the container, each
 * recorded in `parts` for teardown (which removes the containers before the volumes). Call it
 * before the agent container is created (the agent mounts the prefix volume). Returns the
 * container's id, or undefined when the feature is off.
 */
export async function startAptHelper(
  engine: Engine,
  spec: SandboxSpec,
  labels: (role: ResourceRole) => Record<string, string>,
  parts: Pick<SandboxParts, "others" | "volumes">,
): Promise<string | undefined> {
  if (!aptEnabled(spec)) return undefined;
  const names = aptNames(spec);
  await engine.createVolume(names.prefixVolume, labels("apt-prefix"), aptPrefixVolumeOptions(spec));
  parts.volumes.push(names.prefixVolume);
  const id = await engine.createContainer(aptHelperContainer(spec, labels("apt"), hostCaBundle()));
  parts.others.push({ id, name: names.helper });
  await engine.startContainer(id);
  return id;
}
