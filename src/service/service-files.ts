/**
 * Where a user's `ocbox serve` keeps its files, under the XDG state home (0700):
 *
 *   $XDG_STATE_HOME/ocbox/serve/
 *     token         the bearer token (0600), stable across restarts
 *     service.json  the running service: url, pid, its start time, version (0600); removed at stop
 *     serve.log     what the service logged (a detached service writes only here)
 *
 * A client finds the service here; a service.json whose process is gone (kill -9) is stale.
 */
import { readFileSync } from "node:fs";
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { errorMessage, OcboxError } from "../errors.js";
import { processStart } from "../runtime/owner.js";
import { stateHome } from "../util/paths.js";
import { replaceFile } from "../util/replace-file.js";

export interface ServiceFiles {
  dir: string;
  token: string;
  info: string;
  log: string;
}

export function serviceFiles(env: NodeJS.ProcessEnv = process.env): ServiceFiles {
  const dir = join(stateHome(env), "serve");
  return { dir, token: join(dir, "token"), info: join(dir, "service.json"), log: join(dir, "serve.log") };
}

export interface ServiceInfo {
  url: string;
  port: number;
  pid: number;
  /** The process's start time (clock ticks since boot), so a reused pid is not taken for the service. */
  pidStart: string;
  version: string;
  startedAt: string;
  /** The ocbox install serving (its package root): a client of another install runs its task itself. */
  root?: string;
  /** The service's engine settings (protocol.ts ENGINE_ENV): a client with others runs its task itself. */
  engine?: Record<string, string>;
}

export async function writeServiceInfo(files: ServiceFiles, info: ServiceInfo): Promise<void> {
  await replaceFile(files.info, `${JSON.stringify(info, null, 2)}\n`, { mode: 0o600 });
}

/** The service.json of a live service, or undefined (none, or its process is gone). */
export async function readServiceInfo(files: ServiceFiles): Promise<ServiceInfo | undefined> {
  const text = await readFile(files.info, "utf8").catch((e: NodeJS.ErrnoException) => {
    if (e.code === "ENOENT") return undefined;
    throw new OcboxError("USAGE", `cannot read ${files.info}: ${errorMessage(e)}`, {
      fix: "Check the file's permissions, or remove it.",
    });
  });
  if (text === undefined) return undefined;
  let info: ServiceInfo;
  try {
    info = JSON.parse(text) as ServiceInfo;
  } catch (e) {
    throw new OcboxError("USAGE", `${files.info} is not JSON: ${errorMessage(e)}`, {
      fix: `Remove ${files.info} (it is rewritten when \`ocbox serve\` starts).`,
    });
  }
  return processStart(info.pid) === info.pidStart && !isZombie(info.pid) ? info : undefined;
}

/** A killed process whose parent has not reaped it yet (state Z in /proc/PID/stat) is gone. */
function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return true;
    throw e;
  }
}

/** Remove service.json if it is still this process's. */
export async function removeServiceInfo(files: ServiceFiles, pid = process.pid): Promise<void> {
  const text = await readFile(files.info, "utf8").catch((e: NodeJS.ErrnoException) => {
    if (e.code === "ENOENT") return undefined;
    throw e;
  });
  if (text !== undefined && (JSON.parse(text) as Partial<ServiceInfo>).pid === pid)
    await rm(files.info, { force: true });
}
