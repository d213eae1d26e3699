/**
 * Harbor's `task.toml` (the reference is Harbor v0.22.0's `models/task/config.py`), as zod schemas
 * with Harbor's defaults. Every section keeps the keys it does not know (they are reported once by
 * `unknownTaskTomlKeys`, never fatal). Pure: eval/harbor-task.ts reads the file and parses the TOML.
 */
import { z } from "zod";

export const networkModeSchema = z.enum(["public", "no-network", "allowlist"]);
export type NetworkMode = z.infer<typeof networkModeSchema>;

const IPV4 = String.raw`(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}`;
const HOST = String.raw`(\*\.)?([a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*`;
const ALLOWED_HOST = new RegExp(`^(${IPV4}(/([12]?\\d|3[0-2]))?|${HOST})$`);

/** One `allowed_hosts` entry: a host, a `*.` wildcard, an IPv4 literal or an IPv4 CIDR. */
export const allowedHostSchema = z
  .string()
  .transform((h) => h.trim().toLowerCase().replace(/\.$/, ""))
  .refine((h) => ALLOWED_HOST.test(h), {
    message: "write a host name (api.example.com), a wildcard (*.example.com), an IPv4 address or a CIDR",
  });

const envSchema = z.record(z.string(), z.string());
const userSchema = z.union([z.string().min(1), z.number().int().nonnegative()]);
const seconds = z.number().positive("must be a number of seconds above 0");

/** `network_mode` and `allowed_hosts` of one section; hosts without a mode mean `allowlist`. */
const networkFields = {
  network_mode: networkModeSchema.optional(),
  allowed_hosts: z.array(allowedHostSchema).default([]),
};

const checkNetwork =
  (section: string) =>
  (v: { network_mode?: NetworkMode | undefined; allowed_hosts: string[] }, ctx: z.RefinementCtx) => {
    if (v.allowed_hosts.length && v.network_mode && v.network_mode !== "allowlist")
      ctx.addIssue({
        code: "custom",
        path: ["allowed_hosts"],
        message: `only valid with ${section}.network_mode = "allowlist" (it is "${v.network_mode}"): remove the hosts or set the mode to allowlist`,
      });
  };

export const harborAgentSchema = z
  .looseObject({ timeout_sec: seconds.optional(), user: userSchema.optional(), ...networkFields })
  .superRefine(checkNetwork("agent"));

const mcpServerSchema = z.looseObject({
  name: z.string().min(1),
  // Harbor reads `http` as `streamable-http`.
  transport: z
    .enum(["sse", "streamable-http", "http", "stdio"])
    .transform((t) => (t === "http" ? "streamable-http" : t))
    .default("sse"),
  url: z.string().optional(),
  command: z.string().optional(),
  args: z.array(z.string()).default([]),
});

const healthcheckSchema = z.looseObject({
  command: z.string().min(1),
  interval_sec: z.number().default(5),
  timeout_sec: z.number().default(30),
  start_period_sec: z.number().default(0),
  start_interval_sec: z.number().default(5),
  retries: z.number().int().default(3),
});

/** Harbor's deprecated `memory = "2G"` / `storage = "512M"`, in MB. */
const sizeSchema = z
  .string()
  .regex(/^\s*\d+(\.\d+)?\s*[GgMmKk]\s*$/, 'write a size such as "2G", "512M" or "1024K"');

export const sizeToMb = (size: string): number => {
  const s = size.trim().toUpperCase();
  const n = Number(s.slice(0, -1));
  const unit = s.slice(-1);
  return Math.floor(unit === "G" ? n * 1024 : unit === "M" ? n : n / 1024);
};

export const harborEnvironmentSchema = z
  .looseObject({
    build_timeout_sec: seconds.default(600),
    docker_image: z.string().min(1).optional(),
    cpus: z.number().positive().default(1),
    memory_mb: z.number().int().positive().default(2048),
    storage_mb: z.number().int().positive().default(10240),
    gpus: z.number().int().nonnegative().default(0),
    gpu_types: z.array(z.string()).optional(),
    allow_internet: z.boolean().default(true),
    mcp_servers: z.array(mcpServerSchema).default([]),
    env: envSchema.default({}),
    skills_dir: z.string().optional(),
    healthcheck: healthcheckSchema.optional(),
    workdir: z.string().regex(/^\//, "write an absolute path in the image (/app)").optional(),
    memory: sizeSchema.optional(),
    storage: sizeSchema.optional(),
    // Harbor's target OS, case-insensitive; ocbox runs Linux containers only.
    os: z
      .string()
      .transform((o) => o.toLowerCase())
      .pipe(z.enum(["linux", "windows"]))
      .default("linux"),
    ...networkFields,
  })
  .superRefine(checkNetwork("environment"))
  .superRefine((v, ctx) => {
    if (v.os === "windows")
      ctx.addIssue({
        code: "custom",
        path: ["os"],
        message:
          'Windows containers are not supported: ocbox runs Linux containers (remove os or set it to "linux")',
      });
  });

/**
 * `[verifier.environment]`: Harbor's EnvironmentConfig for the separate verifier. ocbox applies
 * cpus, memory_mb (or memory), env and workdir over the task's own `[environment]`; the other keys
 * are kept and reported (eval/harbor-task.ts), and docker_image is refused there.
 */
export const harborVerifierEnvironmentSchema = z.looseObject({
  cpus: z.number().positive().optional(),
  memory_mb: z.number().int().positive().optional(),
  memory: sizeSchema.optional(),
  env: envSchema.optional(),
  workdir: z.string().regex(/^\//, "write an absolute path in the image (/app)").optional(),
  docker_image: z.string().min(1).optional(),
});
export type HarborVerifierEnvironment = z.infer<typeof harborVerifierEnvironmentSchema>;
/** The `[verifier.environment]` keys ocbox applies to the separate verifier's container. */
export const APPLIED_VERIFIER_ENVIRONMENT = ["cpus", "memory_mb", "memory", "env", "workdir"] as const;

export const verifierModeSchema = z.enum(["shared", "separate"]);
export type VerifierMode = z.infer<typeof verifierModeSchema>;

/**
 * `[verifier]`: `environment_mode` (Harbor's `shared` | `separate`), and `[verifier.environment]`
 * (the separate verifier's own environment; it implies `separate`, and conflicts with `shared`).
 */
export const harborVerifierSchema = z
  .looseObject({
    timeout_sec: seconds.default(600),
    env: envSchema.default({}),
    user: userSchema.optional(),
    environment_mode: verifierModeSchema.optional(),
    environment: harborVerifierEnvironmentSchema.optional(),
    ...networkFields,
  })
  .superRefine(checkNetwork("verifier"))
  .superRefine((v, ctx) => {
    if (v.environment_mode === "shared" && v.environment !== undefined)
      ctx.addIssue({
        code: "custom",
        path: ["environment_mode"],
        message:
          'environment_mode = "shared" conflicts with [verifier.environment]: remove that section or set environment_mode = "separate"',
      });
  });

const authorSchema = z.looseObject({ name: z.string(), email: z.string().optional() });

export const harborTaskTomlSchema = z.looseObject({
  schema_version: z.string().optional(),
  version: z.string().optional(),
  source: z.string().optional(),
  task: z
    .looseObject({
      name: z.string().min(1),
      version: z.string().min(1).optional(),
      description: z.string().default(""),
      authors: z.array(authorSchema).default([]),
      keywords: z.array(z.string()).default([]),
    })
    .optional(),
  metadata: z.record(z.string(), z.unknown()).default({}),
  agent: harborAgentSchema.default(() => harborAgentSchema.parse({})),
  verifier: harborVerifierSchema.default(() => harborVerifierSchema.parse({})),
  environment: harborEnvironmentSchema.default(() => harborEnvironmentSchema.parse({})),
  solution: z.looseObject({ env: envSchema.default({}) }).default({ env: {} }),
  /** Harbor's multi-step tasks: refused (one instruction and one verifier per task here). */
  steps: z
    .array(z.unknown())
    .max(
      0,
      "multi-step tasks ([[steps]]) are not supported yet: give the task one instruction.md and one tests/test.sh",
    )
    .optional(),
  /** Extra paths Harbor collects after the trial; not collected here (notice). */
  artifacts: z.array(z.union([z.string(), z.looseObject({ source: z.string() })])).default([]),
  multi_step_reward_strategy: z.enum(["mean", "final"]).optional(),
});
export type HarborTaskToml = z.infer<typeof harborTaskTomlSchema>;

/** The keys each section knows; anything else is kept and reported. */
const KNOWN: Record<string, readonly string[]> = {
  "": [
    "schema_version",
    "version",
    "source",
    "task",
    "metadata",
    "agent",
    "verifier",
    "environment",
    "solution",
    "steps",
    "artifacts",
    "multi_step_reward_strategy",
  ],
  task: ["name", "version", "description", "authors", "keywords"],
  agent: ["timeout_sec", "user", "network_mode", "allowed_hosts"],
  verifier: [
    "timeout_sec",
    "env",
    "user",
    "network_mode",
    "allowed_hosts",
    "environment_mode",
    "environment",
  ],
  environment: [
    "build_timeout_sec",
    "docker_image",
    "cpus",
    "memory_mb",
    "storage_mb",
    "gpus",
    "gpu_types",
    "allow_internet",
    "network_mode",
    "allowed_hosts",
    "mcp_servers",
    "env",
    "skills_dir",
    "healthcheck",
    "workdir",
    "memory",
    "storage",
    "os",
  ],
  solution: ["env"],
};

/** Dotted paths of the keys Harbor's TaskConfig does not define (`[metadata]` is free-form). Pure. */
export function unknownTaskTomlKeys(raw: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const [section, keys] of Object.entries(KNOWN)) {
    const value = section === "" ? raw : raw[section];
    if (!value || typeof value !== "object" || Array.isArray(value)) continue;
    for (const k of Object.keys(value)) if (!keys.includes(k)) out.push(section ? `${section}.${k}` : k);
  }
  return out.sort();
}

/** Where the verifier runs: Harbor's `environment_mode`, else `separate` when `[verifier.environment]` is set. Pure. */
export function verifierMode(t: Pick<HarborTaskToml, "verifier">): VerifierMode {
  return t.verifier.environment_mode ?? (t.verifier.environment !== undefined ? "separate" : "shared");
}

export interface NetworkPolicy {
  mode: NetworkMode;
  allowedHosts: string[];
}

/**
 * The network policy of the agent and of the verifier: `[environment]` is the baseline
 * (`network_mode`, else the older `allow_internet`), and each phase's own `network_mode` or
 * `allowed_hosts` replaces it for that phase. Pure.
 */
export function phaseNetworkPolicies(t: HarborTaskToml): { agent: NetworkPolicy; verifier: NetworkPolicy } {
  const explicit = (s: { network_mode?: NetworkMode | undefined; allowed_hosts: string[] }) =>
    s.network_mode || s.allowed_hosts.length
      ? { mode: s.network_mode ?? "allowlist", allowedHosts: s.allowed_hosts }
      : undefined;
  const env = t.environment;
  const baseline: NetworkPolicy = explicit(env) ?? {
    mode: env.allow_internet ? "public" : "no-network",
    allowedHosts: [],
  };
  return { agent: explicit(t.agent) ?? baseline, verifier: explicit(t.verifier) ?? baseline };
}
