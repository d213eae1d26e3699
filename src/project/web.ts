/** `ocbox web` as a library call: a login front for the project's running sandbox. */
import { spawn } from "node:child_process";
import { OcboxError } from "../errors.js";
import type { Engine } from "../runtime/engine.js";
import { findProjectSandbox, type SandboxRow } from "./sandbox-list.js";
import { requirePassword } from "./state.js";
import type { StateLayout } from "../util/state-layout.js";
import { startWebFront, type WebFront } from "./web-front.js";
import { webSessionPath } from "../opencode/web-route.js";
import { localServerFor } from "./server-access.js";
import { ensureRelay } from "./detached-relay.js";

/** The project's running sandbox, or an error that says how to start it. */
export async function requireRunning(engine: Engine, sandboxId: string): Promise<SandboxRow> {
  const row = await findProjectSandbox(engine, sandboxId);
  if (row) return row;
  throw new OcboxError("SANDBOX_START", `the sandbox ${sandboxId} is not running`, {
    fix: "start it with `ocbox up` (or `ocbox up --detach`)",
  });
}

export async function openWebFront(
  engine: Engine,
  sandboxId: string,
  state: StateLayout,
  options: { port?: number } = {},
): Promise<{ row: SandboxRow; front: WebFront }> {
  const row = await requireRunning(engine, sandboxId);
  // A detached sandbox's ways back (exec transport): started again when its relay is gone.
  await ensureRelay(state.dir, row);
  const password = await requirePassword(state);
  const server = await localServerFor(engine, row);
  const front = await startWebFront(
    { url: server.url, password },
    { ...options, landing: webSessionPath(row.workspaceTarget), openDirectory: row.workspaceTarget },
  ).catch(async (e: unknown) => {
    await server.close();
    throw e;
  });
  return { row, front: { ...front, close: () => front.close().finally(() => server.close()) } };
}

/** Open a URL in the desktop's browser. The URL carries a one-time code only, never the password. */
export function openBrowser(url: string): Promise<void> {
  const cmd = process.platform === "darwin" ? "open" : "xdg-open";
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, [url], { stdio: "ignore", detached: true });
    child.once("error", (e: NodeJS.ErrnoException) =>
      reject(
        new OcboxError(
          "USAGE",
          `cannot open a browser: ${cmd} ${e.code === "ENOENT" ? "is not installed" : e.message}`,
          {
            fix: "use `ocbox web --print` and open the printed one-time link yourself",
          },
        ),
      ),
    );
    child.once("spawn", () => {
      child.unref();
      resolve();
    });
  });
}
