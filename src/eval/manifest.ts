/**
 * `manifest.json`: what a run was asked to do (the run config), with which versions, on which
 * tasks (their digests). Resuming compares the config; a change is refused unless forced. Pure
 * apart from reading and writing the file.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { OcboxError, errorMessage } from "../errors.js";
import { parseVersioned } from "../util/versioned-file.js";
import {
  networkModeSchema,
  verifierMode,
  type HarborTaskToml,
  type NetworkPolicy,
} from "../config/harbor-task-schema.js";
import { sha256 } from "./digest.js";
import { replaceFile } from "../util/replace-file.js";

const networkPolicySchema = z.object({ mode: networkModeSchema, allowedHosts: z.array(z.string()) });

/** The manifest's format (absent in a file written before versions: read as 1). */
export const MANIFEST_VERSION = 1;

/** The settings that change results. Workers, logging and progress do not. */
const runConfigSchema = z.object({
  model: z.string(),
  tasksDir: z.string(),
  repeat: z.number().int().positive(),
  filter: z.string().nullable(),
  role: z.string().nullable(),
  timeoutS: z.number().nullable(),
  /** Absent in a manifest written before --limit and --timeout-multiplier: read as not given. */
  limit: z.number().int().positive().nullable().default(null),
  timeoutMultiplier: z.number().positive().nullable().default(null),
  /** `--oracle` (Harbor tasks' solve.sh in the agent's place). */
  oracle: z.boolean().default(false),
  /**
   * The agent containers' OCI runtime (`hardening.runtime`, gVisor's runsc), or "default" for the
   * engine's own; absent in a manifest written before it: read as "default".
   */
  runtime: z.string().default("default"),
});
export type RunConfig = z.output<typeof runConfigSchema>;

/**
 * How the run's sandboxes get their workspaces (issue 14): bind mount or copy, and why (the probe,
 * `--copy`, `workspace.mode`). Not part of the config: the engine decides it, and a manifest
 * written before this field existed still resumes (configDigest never sees it).
 */
const workspaceModeSchema = z.object({ mode: z.enum(["bind", "copy"]), why: z.string() });
export type ManifestWorkspace = z.infer<typeof workspaceModeSchema>;

const manifestSchema = z.object({
  kind: z.literal("ocbox-eval-run"),
  version: z.literal(MANIFEST_VERSION).default(MANIFEST_VERSION),
  config: runConfigSchema,
  /** Absent in a manifest written before it: not recorded. */
  workspace: workspaceModeSchema.optional(),
  ocbox: z.string(),
  opencode: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  tasks: z.record(
    z.string(),
    z.object({
      digest: z.string(),
      /** Harbor tasks: the network policy of each phase (`public` is said here and in the summary). */
      network: z
        .object({ agent: networkPolicySchema, verifier: networkPolicySchema, public: z.array(z.string()) })
        .optional(),
      /** Harbor tasks: where the verifier runs (Harbor's `[verifier] environment_mode`). */
      verifierMode: z.enum(["shared", "separate"]).optional(),
      /** Harbor tasks: `task.toml`'s free-form `[metadata]`, as is (absent when empty). */
      metadata: z.record(z.string(), z.unknown()).optional(),
    }),
  ),
  invalid: z.array(z.object({ id: z.string(), path: z.string(), field: z.string(), problem: z.string() })),
  /** Per Harbor task, the WARNING lines of its sandbox (a root task's `task.root`); absent: none. */
  taskWarnings: z.record(z.string(), z.array(z.string())).optional(),
});
export type Manifest = z.infer<typeof manifestSchema>;
export type ManifestTask = Manifest["tasks"][string];

/** A task's manifest entry: its digest, and a Harbor task's network per phase, verifier mode and `[metadata]`. Pure. */
export function manifestTask(task: {
  digest: string;
  harbor?:
    | {
        network: { agent: NetworkPolicy; verifier: NetworkPolicy };
        toml: Pick<HarborTaskToml, "verifier" | "metadata">;
      }
    | undefined;
}): ManifestTask {
  const n = task.harbor?.network;
  if (!n || !task.harbor) return { digest: task.digest };
  const pub = (["agent", "verifier"] as const).filter((p) => n[p].mode === "public");
  return {
    digest: task.digest,
    network: { agent: n.agent, verifier: n.verifier, public: pub },
    verifierMode: verifierMode(task.harbor.toml),
    ...(Object.keys(task.harbor.toml.metadata).length ? { metadata: task.harbor.toml.metadata } : {}),
  };
}

/** The run's workspace mode from its first plan's profile (plan/workspace-mode.ts). Pure. */
export function manifestWorkspace(profile: {
  workspaceMode?: string;
  workspaceCopy?: unknown;
}): ManifestWorkspace {
  return {
    mode: profile.workspaceCopy ? "copy" : "bind",
    why: profile.workspaceMode ?? "bind mount",
  };
}

export function configDigest(config: RunConfig): string {
  return sha256(JSON.stringify(config, Object.keys(config).sort()));
}

/** The fields that differ, as `field: old → new`. Pure. */
export function configChanges(old: RunConfig, next: RunConfig): string[] {
  const keys = [...new Set([...Object.keys(old), ...Object.keys(next)])].sort() as Array<keyof RunConfig>;
  return keys
    .filter((k) => JSON.stringify(old[k]) !== JSON.stringify(next[k]))
    .map((k) => `${k}: ${JSON.stringify(old[k])} → ${JSON.stringify(next[k])}`);
}

export const MANIFEST = "manifest.json";

/** The manifest's content, checked. Pure. */
export function parseManifest(text: string, file: string): Manifest {
  const fix = `Restore ${file} (ocbox changed nothing in its folder), or give --output a new folder for a fresh run.`;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new OcboxError("CONFIG", `${file}: the run manifest is not JSON`, { detail: errorMessage(e), fix });
  }
  return parseVersioned(manifestSchema, value, {
    where: file,
    what: "run manifest",
    current: MANIFEST_VERSION,
    fix,
  });
}

/** The run's manifest; undefined when the folder holds none. An unreadable one is an error. */
export async function readManifest(dir: string): Promise<Manifest | undefined> {
  const file = join(dir, MANIFEST);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return undefined;
    throw new OcboxError("CONFIG", `cannot read the run manifest ${file}: ${code ?? errorMessage(e)}`, {
      cause: e,
      fix: "Check the file and its folder's permissions (they must be yours).",
    });
  }
  return parseManifest(text, file);
}

/** Atomic: write a temp file, then rename over. 0600: eval outputs may hold what the agent printed. */
export async function writeJson(file: string, value: unknown): Promise<void> {
  await replaceFile(file, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
}
