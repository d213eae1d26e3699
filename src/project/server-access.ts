/**
 * A URL on this machine for a running sandbox's server, found by its labels: the published port
 * where it has one, else (the "exec" transport, label port 0) a local relay whose connections are
 * exec streams into the sandbox's sidecar. For the web front and `opencode attach`.
 */
import { OcboxError } from "../errors.js";
import type { Engine } from "../runtime/engine.js";
import { listenLocalRelay, serverConnector, type LocalRelay } from "../sandbox/server-transport.js";
import type { SandboxRow } from "./sandbox-list.js";

export async function localServerFor(
  engine: Engine,
  row: SandboxRow,
): Promise<Pick<LocalRelay, "url" | "close">> {
  if (row.port > 0) return { url: row.url, close: () => Promise.resolve() };
  if (!row.egressId) {
    throw new OcboxError("SANDBOX_START", `the sandbox ${row.sandboxId} has neither a port nor a sidecar`, {
      fix: "Stop it with `ocbox down` and start it again with `ocbox up`.",
    });
  }
  return listenLocalRelay(serverConnector(engine, row.egressId));
}
