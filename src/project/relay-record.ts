/**
 * The detached relay's record in the project's state dir (`relay.json`, 0600): which sandbox run
 * it serves, its targets (from the plan, never from the sandbox), its pid, and the 127.0.0.1 port
 * and token of its control line (detached-relay.ts). ocbox's own control data: the agent cannot
 * write the state dir. `parseRelayRecord` is pure.
 */
import { randomBytes } from "node:crypto";
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { OcboxError } from "../errors.js";
import type { ReverseTarget } from "../sandbox/reverse-relay.js";
import { zodIssues } from "../util/versioned-file.js";
import { replaceFile } from "../util/replace-file.js";

/** What the relay serves; handed to the relay process, and kept so that it can be restarted. */
export interface RelayJob {
  sandboxId: string;
  runId: string;
  egressId: string;
  targets: ReverseTarget[];
}

export interface RelayRecord extends RelayJob {
  version: 1;
  pid: number;
  /** The control line's port on 127.0.0.1. */
  port: number;
  token: string;
  startedAt: string;
}

const target = z.object({
  listen: z.string().regex(/^\/[A-Za-z0-9._/-]+\.sock$/),
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535),
  what: z.string(),
});

const record = z.object({
  version: z.literal(1),
  sandboxId: z.string().min(1),
  runId: z.string().min(1),
  egressId: z.string().regex(/^[0-9a-f]{12,64}$/),
  targets: z.array(target),
  pid: z.number().int().positive(),
  port: z.number().int().min(1).max(65535),
  token: z.string().regex(/^[0-9a-f]{32}$/),
  startedAt: z.string(),
});

const handed = z.object({
  job: z.object({
    sandboxId: z.string().min(1),
    runId: z.string().min(1),
    egressId: z.string().regex(/^[0-9a-f]{12,64}$/),
    targets: z.array(target),
  }),
  token: z.string().regex(/^[0-9a-f]{32}$/),
  stateDir: z.string().startsWith("/"),
});

/** What `ocbox relay` is handed in its environment (by detached-relay.ts). Pure. */
export function parseHandedJob(text: string | undefined, name: string): z.infer<typeof handed> {
  let value: unknown;
  try {
    value = JSON.parse(text ?? "");
  } catch (e) {
    value = e;
  }
  const parsed = handed.safeParse(value);
  if (!parsed.success) {
    throw new OcboxError("USAGE", `ocbox relay is started by \`ocbox up --detach\`, with ${name} set`, {
      detail: value instanceof Error ? value.message : zodIssues(parsed.error),
      fix: "Run `ocbox up --detach` (or `ocbox web`, which starts the relay again).",
    });
  }
  return parsed.data;
}

export const relayRecordFile = (stateDir: string) => join(stateDir, "relay.json");

export const newRelayToken = () => randomBytes(16).toString("hex");

/** The record in `text`; a CONFIG error naming the file when it is damaged. Pure. */
export function parseRelayRecord(text: string, file: string): RelayRecord {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    value = e;
  }
  const parsed = record.safeParse(value);
  if (!parsed.success) {
    throw new OcboxError("CONFIG", `${file} is not a relay record ocbox wrote`, {
      detail: value instanceof Error ? value.message : zodIssues(parsed.error),
      fix: `Remove ${file} (ocbox writes it again at the next \`ocbox up --detach\`).`,
    });
  }
  return parsed.data;
}

/** The record, or undefined when there is none. */
export async function readRelayRecord(stateDir: string): Promise<RelayRecord | undefined> {
  const file = relayRecordFile(stateDir);
  const text = await readFile(file, "utf8").catch((e: NodeJS.ErrnoException) => {
    if (e.code === "ENOENT") return undefined;
    throw e;
  });
  return text === undefined ? undefined : parseRelayRecord(text, file);
}

/** Written whole (a temp file renamed over it), 0600. */
export async function writeRelayRecord(stateDir: string, r: RelayRecord): Promise<void> {
  const file = relayRecordFile(stateDir);
  await replaceFile(file, `${JSON.stringify(r, null, 2)}\n`, { mode: 0o600 });
}

export async function removeRelayRecord(stateDir: string): Promise<void> {
  await rm(relayRecordFile(stateDir), { force: true });
}
