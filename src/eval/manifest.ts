/**
 * `manifest.json`: what a run was asked to do (the run config), with which versions, on which
 * tasks (their digests). Resuming compares the config; a change is refused unless forced. Pure
 * apart from reading and writing the file.
 */
import { readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { sha256 } from "./digest.js";
import type { InvalidTask } from "./task-set.js";

/** The settings that change results. Workers, logging and progress do not. */
export interface RunConfig {
  model: string;
  tasksDir: string;
  repeat: number;
  filter: string | null;
  role: string | null;
  timeoutS: number | null;
}

export interface Manifest {
  kind: "ocbox-eval-run";
  version: 1;
  config: RunConfig;
  ocbox: string;
  opencode: string;
  createdAt: string;
  updatedAt: string;
  tasks: Record<string, { digest: string }>;
  invalid: InvalidTask[];
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

export async function readManifest(dir: string): Promise<Manifest | undefined> {
  const text = await readFile(join(dir, MANIFEST), "utf8").catch(() => undefined);
  return text === undefined ? undefined : (JSON.parse(text) as Manifest);
}

/** Atomic: write a temp file, then rename over. 0600: eval outputs may hold what the agent printed. */
export async function writeJson(file: string, value: unknown): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
  await rename(tmp, file);
}
