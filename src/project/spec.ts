/**
 * From a loaded project config to a SandboxSpec. Pure: every input (host env after the hook,
 * images, state paths, the project's own opencode.json) arrives as data.
 */
import { join } from "node:path";
import { resolveEnv, projectEnvRules, type EnvResolution } from "../config/env-rules.js";
import { resolveLimits } from "../config/limits.js";
import { egressSpecFromConfig, gatewayPorts, withholdGatewayKeys } from "../egress/config.js";
import type { LoadedProject } from "../config/load.js";
import { generateModelConfig } from "../config/provider.js";
import { AGENT_HOME, WORKSPACE } from "../image/dockerfile.js";
import type { Mount } from "../runtime/engine.js";
import { hardeningFromConfig } from "../sandbox/hardening.js";
import type { Ids } from "../sandbox/ownership.js";
import { cacheVolumes } from "../sandbox/cache-volumes.js";
import type { SandboxSpec } from "../sandbox/spec.js";
import { providersBehindGateways, providersInUse } from "../sandbox/auth-copy.js";
import { loopbackPort } from "../util/loopback.js";
import { autonomousPermission } from "./autonomous.js";
import type { StateLayout } from "./state-layout.js";

export interface ProjectSpecInput {
  project: LoadedProject;
  hostEnv: Readonly<Record<string, string | undefined>>;
  images: { sandbox: string; egress: string };
  state: StateLayout;
  password: string;
  agentUser: Ids;
  hostUser: Ids;
  runId: string;
  /** `--port`, over the config's ports.server. */
  port?: number;
  lifetime: "session" | "detached";
  /** The host's OpenCode auth.json (copied per container). */
  authFile: string;
  /** The project's opencode.json(c), if any: its file name and content. */
  opencodeJson?: { file: string; config: Record<string, unknown> };
  readyTimeoutMs?: number;
}

export interface ProjectSpec {
  spec: SandboxSpec;
  env: EnvResolution;
}

export { loopbackPort };

/** Base URLs of every provider in an OpenCode config (`provider.*.options.baseURL`). */
export function providerBaseURLs(config: Record<string, unknown> | undefined): string[] {
  const providers = config?.provider;
  if (typeof providers !== "object" || providers === null) return [];
  return Object.values(providers as Record<string, { options?: { baseURL?: unknown } }>)
    .map((p) => p?.options?.baseURL)
    .filter((u): u is string => typeof u === "string");
}

/** `localhost` resolves to ::1 first in some runtimes; the sandbox's relays listen on 127.0.0.1. */
function pinLoopback(url: string): string {
  const u = new URL(url);
  if (u.hostname !== "localhost") return url;
  u.hostname = "127.0.0.1";
  return u.toString().replace(/\/+$/, "");
}

export function projectSpec(input: ProjectSpecInput): ProjectSpec {
  const { config } = input.project;
  const model = config.model ? generateModelConfig(config.model) : undefined;
  if (model) {
    for (const block of Object.values(model.opencode.provider)) {
      if (block.options?.baseURL !== undefined) block.options.baseURL = pinLoopback(block.options.baseURL);
    }
  }
  const rules = projectEnvRules(
    { ...config.env, map: { ...(model?.envMap ?? {}), ...config.env.map } },
    input.hostEnv,
  );
  const resolved = resolveEnv(rules);
  // D6: a gateway holds its key; the agent's copy of it (by prefix, map or apiKeyEnv) is a placeholder.
  const egress = egressSpecFromConfig(config.egress, input.hostEnv, input.state.egressLog);
  const env: EnvResolution = { ...resolved, env: withholdGatewayKeys(resolved.env, egress).env };
  const viaGateway = gatewayPorts(egress);

  const generated: Record<string, unknown> = {
    $schema: "https://opencode.ai/config.json",
    ...(model?.opencode ?? {}),
    ...(config.autonomous ? { permission: { "*": "allow" } } : {}),
  };
  const urls = [...providerBaseURLs(generated), ...providerBaseURLs(input.opencodeJson?.config)];
  // Item 9: auth.json entries only for the providers the config uses, none behind a gateway.
  const configs = [generated, input.opencodeJson?.config];
  const gated = new Set(providersBehindGateways(configs, viaGateway));
  const authProviders = providersInUse(configs).filter((p) => !gated.has(p));
  const forwardPorts = [
    ...new Set([
      ...config.egress.hostPorts,
      ...urls.map(loopbackPort).filter((p): p is number => p !== undefined && !viaGateway.has(p)),
    ]),
  ].sort((a, b) => a - b);

  // D3: the agent may write the workspace, but not its own OpenCode config.
  // The whole ~/.local is the state dir's (owned by the agent user): a bind of the data dir alone
  // would leave ~/.local and ~/.local/share root-owned, and OpenCode writes ~/.local/state too.
  const homeLocal: Mount = { type: "bind", source: input.state.homeLocal, target: `${AGENT_HOME}/.local` };
  const extraMounts: Mount[] = input.opencodeJson
    ? [
        homeLocal,
        {
          type: "bind",
          source: input.opencodeJson.file,
          target: join(WORKSPACE, input.opencodeJson.file.slice(input.project.root.length + 1)),
          readOnly: true,
        },
      ]
    : [homeLocal];

  const spec: SandboxSpec = {
    sandboxId: input.project.sandboxId,
    runId: input.runId,
    workspace: input.project.root,
    images: input.images,
    agentUser: input.agentUser,
    hostUser: input.hostUser,
    forwardPorts,
    hostPort: input.port ?? config.ports.server ?? 0,
    // G4: OpenCode applies OPENCODE_PERMISSION after the project's own opencode.json(c).
    env: config.autonomous
      ? { ...env.env, OPENCODE_PERMISSION: autonomousPermission(input.opencodeJson?.config) }
      : env.env,
    opencodeConfig: generated,
    dataDir: input.state.dataDir,
    password: input.password,
    authFile: input.authFile,
    authProviders,
    extraMounts,
    limits: resolveLimits(config.limits),
    egress,
    ...(config.unsafe?.hostDockerSocket ? { hostDockerSocket: true } : {}),
    ...(config.volumes?.length
      ? { cacheVolumes: cacheVolumes(input.project.sandboxId, config.volumes) }
      : {}),
    hardening: hardeningFromConfig(config.hardening),
    ...(config.apt.allow.length ? { aptAllow: [...config.apt.allow] } : {}),
    server: { logLevel: "INFO", printLogs: true },
    lifetime: input.lifetime,
    readyTimeoutMs: input.readyTimeoutMs ?? 120_000,
  };
  return { spec, env };
}

/** The host's OpenCode auth.json: `$XDG_DATA_HOME/opencode/auth.json`, default ~/.local/share. */
export function hostAuthFile(env: NodeJS.ProcessEnv, home: string): string {
  return join(env.XDG_DATA_HOME || join(home, ".local", "share"), "opencode", "auth.json");
}
