/**
 * The egress sidecar's control record: what turns its access log into decisions (the allowlist,
 * the gateway ports) and where those decisions go (the decision log). It lives in a 0700 dir of
 * ocbox's that no container mounts, named after the sidecar's staged dir, and the egress
 * container's label names it. Never beside the access log: the sidecar parses the agent's traffic
 * and can write its staged dir, so nothing there may steer the host (SECURITY.md).
 */
import { mkdir, readFile, rm } from "node:fs/promises";
import { basename, join } from "node:path";
import { z } from "zod";
import { stateHome } from "../util/paths.js";
import { replaceFile } from "../util/replace-file.js";

/** 2: the sidecar's files are in an engine volume (1 named a host dir; such records are ignored). */
export const CONTROL_VERSION = 2;

const controlSchema = z.object({
  version: z.literal(CONTROL_VERSION),
  /** The staging id this record belongs to (`r-<pid>-<start>-<rand>`, its file's name). */
  id: z.string().min(1),
  /** The engine volume holding the sidecar's files (and its access log). */
  volume: z.string().min(1),
  /** An image the volume can be read back with once the sidecar is gone. */
  image: z.string().min(1),
  allow: z.array(z.string()),
  /** The proxy allowed every host (a benchmark task's `network_mode = "public"`). */
  public: z.boolean().optional(),
  gatewayPorts: z.record(z.string(), z.string()),
  decisionLog: z.string().min(1).optional(),
});

export type EgressControl = z.infer<typeof controlSchema>;

export function egressControlRoot(env: NodeJS.ProcessEnv = process.env): string {
  return join(stateHome(env), "egress-control");
}

/** The record's file for a staging id. */
export function controlFileFor(id: string, env: NodeJS.ProcessEnv = process.env): string {
  return join(egressControlRoot(env), `${basename(id)}.json`);
}

/** The staging id a record file belongs to, from the record file's name; undefined for others. */
export function egressIdOf(controlFileName: string): string | undefined {
  return /^(r-\d+-\d+-[A-Za-z0-9]+)\.json$/.exec(controlFileName)?.[1];
}

export async function writeEgressControl(file: string, control: EgressControl): Promise<void> {
  const root = join(file, "..");
  await mkdir(root, { recursive: true, mode: 0o700 });
  await replaceFile(file, JSON.stringify(control), { mode: 0o600 });
}

/** The record, or undefined when there is none (or it is not one this ocbox wrote). */
export async function readEgressControl(file: string): Promise<EgressControl | undefined> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  const parsed = controlSchema.safeParse(json);
  return parsed.success ? parsed.data : undefined;
}

export async function removeEgressControl(file: string): Promise<void> {
  await rm(file, { force: true });
}

/** The log context (gateway ports as numbers) of a record. Pure. */
export function logContextOf(control: EgressControl): {
  allow: string[];
  public?: boolean;
  gatewayPorts: Record<number, string>;
} {
  const gatewayPorts: Record<number, string> = {};
  for (const [port, name] of Object.entries(control.gatewayPorts)) gatewayPorts[Number(port)] = name;
  return { allow: control.allow, ...(control.public ? { public: true } : {}), gatewayPorts };
}
