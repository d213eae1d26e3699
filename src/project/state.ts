/** Creating and reading a project sandbox's state dir (layout in state-layout.ts). */
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { OcboxError } from "../errors.js";
import type { Ids } from "../sandbox/ownership.js";
import { newPassword } from "../sandbox/run-dir.js";
import type { StateLayout } from "../util/state-layout.js";

/**
 * Make the state dir (0700), the password (0600, created once and kept) and the logs dir. OpenCode's
 * data is not here: it is in the project's data volume (A3). Returns the password.
 */
export async function ensureState(
  layout: StateLayout,
  projectRoot: string,
  _agentUser: Ids,
): Promise<string> {
  await mkdir(layout.dir, { recursive: true, mode: 0o700 });
  await chmod(layout.dir, 0o700);
  await mkdir(layout.logsDir, { recursive: true, mode: 0o700 });
  await writeFile(layout.project, `${projectRoot}\n`, { mode: 0o600 });
  const existing = await readPassword(layout);
  if (existing !== undefined) return existing;
  const password = newPassword();
  await writeFile(layout.password, password, { mode: 0o600, flag: "wx" }).catch(
    (e: NodeJS.ErrnoException) => {
      if (e.code !== "EEXIST") throw e;
    },
  );
  // Another ocbox may have won the race to create it: the file is the truth.
  return (await readPassword(layout)) ?? password;
}

export async function readPassword(layout: StateLayout): Promise<string | undefined> {
  const text = await readFile(layout.password, "utf8").catch((e: NodeJS.ErrnoException) => {
    if (e.code === "ENOENT") return undefined;
    throw new OcboxError("SANDBOX_START", `cannot read ${layout.password}: ${e.code ?? e.message}`, {
      fix: "Check the permissions of the state dir; it must belong to you.",
    });
  });
  const password = text?.trim();
  return password ? password : undefined;
}

/** The password of a running sandbox, with the fix when the state is gone. */
export async function requirePassword(layout: StateLayout): Promise<string> {
  const password = await readPassword(layout);
  if (password !== undefined) return password;
  throw new OcboxError("SANDBOX_START", `no server password in ${layout.password}`, {
    fix: "The state dir was removed while the sandbox ran: run `ocbox down` and `ocbox up` again.",
  });
}
