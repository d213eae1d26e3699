/**
 * What `ocbox up` adds to a planned sandbox, on purpose: a person's project sandbox keeps its
 * state across sessions. Its id is the project's; its server has a stable password and a chosen
 * host port; ~/.local (OpenCode's sessions) lives in the project's data volume; the host's auth.json entries
 * for the providers in use (none behind a gateway) are copied in; the project's opencode.json(c)
 * is mounted read-only over itself (D3: the agent may write the workspace, not its own config);
 * the egress decisions are logged; a detached sandbox outlives the command. The project is mounted
 * at /<sandbox name> (the web UI and every path the agent prints carry its name), and also at the
 * old /workspace, so that sessions made there before still open and work. Pure.
 */
import { join } from "node:path";
import { workspaceMountFor, workspaceNameProblem } from "../config/workspace-mount.js";
import { OcboxError } from "../errors.js";
import { WORKSPACE } from "../image/dockerfile.js";
import type { Mount } from "../runtime/engine.js";
import { providersBehindGateways, providersInUse } from "../sandbox/auth-copy.js";
import { cacheVolumes } from "../sandbox/cache-volumes.js";
import { dataVolumeLabels, dataVolumeName } from "../sandbox/data-volume-name.js";
import type { SandboxSpec } from "../sandbox/spec.js";
import { sandboxSpec, type Placement, type SandboxProfile } from "./sandbox-profile.js";

/** The state dir paths a project sandbox uses (project/state-layout.ts makes them). */
export interface ProjectStatePaths {
  homeLocal: string;
  dataDir: string;
  dataVolumeRecord: string;
  egressLog: string;
}

export interface UpFacts {
  state: ProjectStatePaths;
  password: string;
  /** `--port`, over the config's ports.server; 0 picks a free one. */
  hostPort: number;
  lifetime: SandboxSpec["lifetime"];
  /** The host's OpenCode auth.json (copied per container). */
  authFile: string;
}

export const UP_READY_TIMEOUT_MS = 120_000;

/**
 * Where `up` mounts the project `name` inside, or a CONFIG error naming the file and the fix (a
 * folder name such as `tmp` or `app` that `name:` did not override). Pure.
 */
export function upWorkspaceTarget(name: string, configFile: string): string {
  const problem = workspaceNameProblem(name);
  if (problem)
    throw new OcboxError("CONFIG", `${configFile}: name: ${problem.problem}`, {
      detail: "the name defaults to the project's folder name; `ocbox up` mounts the project at /<name>",
      fix: `set \`name:\` in ${configFile}: ${problem.fix}`,
    });
  return workspaceMountFor(name);
}

/**
 * D3 in copy mode: a file of the agent's own volume cannot be mounted read-only over it, so
 * OpenCode reads no project config from the workspace at all (the agent's copy of opencode.json(c)
 * is only a file it may edit, synced back and approved again at the next `up`) and gets the
 * approved content through the environment, as the read-only file would have given it.
 */
export function copyModeConfigEnv(config: Record<string, unknown> | undefined): Record<string, string> {
  return {
    OPENCODE_DISABLE_PROJECT_CONFIG: "1",
    ...(config ? { OPENCODE_CONFIG_CONTENT: JSON.stringify(config) } : {}),
  };
}

function upMounts(root: string, target: string, opencodeFile: string | undefined): Mount[] {
  if (opencodeFile === undefined) return [];
  const rel = opencodeFile.slice(root.length + 1);
  // D3 at both paths: the agent may write the workspace, not its own config.
  return [target, WORKSPACE].map((at): Mount => ({
    type: "bind",
    source: opencodeFile,
    target: join(at, rel),
    readOnly: true,
  }));
}

/** Item 9: auth.json entries only for the providers the configs use, none behind a gateway. */
export function authProvidersFor(
  configs: ReadonlyArray<Record<string, unknown> | undefined>,
  gatewayPorts: ReadonlySet<number>,
): string[] {
  const gated = new Set(providersBehindGateways(configs, gatewayPorts));
  return providersInUse(configs).filter((p) => !gated.has(p));
}

export function projectSandboxSpec(
  profile: SandboxProfile,
  placement: Placement,
  facts: UpFacts,
  extra: {
    opencodeFile: string | undefined;
    authProviders: string[];
    workspaceTarget: string;
    /** The project's approved opencode.json(c), parsed (copy mode passes it as content). */
    opencodeConfig?: Record<string, unknown> | undefined;
  },
): SandboxSpec {
  const paths = profile.cacheVolumes?.paths ?? [];
  const target = extra.workspaceTarget;
  const base = sandboxSpec(profile, placement);
  return {
    ...base,
    ...(profile.workspaceCopy ? { env: { ...base.env, ...copyModeConfigEnv(extra.opencodeConfig) } } : {}),
    workspaceTarget: target,
    // Sessions made before the project had its own name live at /workspace: the same dir there too.
    workspaceAlias: WORKSPACE,
    hostPort: facts.hostPort,
    // A3: the whole ~/.local (OpenCode's sessions, and ~/.local/state) in the project's volume;
    // a new volume is seeded once from the state dir's home-local of an ocbox before volumes.
    dataVolume: dataVolumeName(placement.sandboxId),
    dataVolumeLabels: dataVolumeLabels(placement.sandboxId),
    dataSeed: facts.state.homeLocal,
    dataVolumeRecord: facts.state.dataVolumeRecord,
    password: facts.password,
    authFile: facts.authFile,
    authProviders: extra.authProviders,
    // Copy mode: no host path inside the engine; the approved config comes as content instead.
    extraMounts: profile.workspaceCopy ? [] : upMounts(placement.workspace, target, extra.opencodeFile),
    ...(paths.length ? { cacheVolumes: cacheVolumes(placement.sandboxId, paths) } : {}),
    lifetime: facts.lifetime,
  };
}
