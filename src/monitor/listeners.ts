/**
 * The listener monitor (FEATURES G1): which TCP ports are open inside the agent container, and
 * which of them nobody expected. Read on the host from the container's processes (engine top API,
 * then /proc), so nothing runs inside the sandbox and the agent cannot hide from it or stop it.
 * Needs a local engine (the host sees the container's /proc) and read access to the agent's
 * processes (the same uid, or root).
 */
import { readFile, readdir, readlink } from "node:fs/promises";
import { SERVER_PORT } from "../image/dockerfile.js";
import type { ContainerProcess, Engine } from "../runtime/engine.js";
import { environValue, parseProcNetTcp, socketInode, type Listener } from "./proc-net.js";

export interface SeenListener extends Listener {
  /** The command line of the process holding it, when it could be read. */
  command?: string;
  expected: boolean;
  /** Why it is expected: "ocbox server", "ocbox relay", "monitors.listeners.expected". */
  reason?: string;
}

export interface ListenerScan {
  time: string;
  listeners: SeenListener[];
  unexpected: number;
}

export interface ExpectedPorts {
  /** ocbox's own: the OpenCode server and the relays of forwarded ports and the proxy. */
  system: Map<number, string>;
  /** The config's `monitors.listeners.expected`. */
  configured: readonly number[];
}

/** ocbox's own ports inside the agent: the server, and OCBOX_FORWARD_PORTS. Pure. */
export function systemPorts(forwardPorts: string | undefined): Map<number, string> {
  const ports = new Map<number, string>([[SERVER_PORT, "ocbox server"]]);
  for (const p of (forwardPorts ?? "").split(/\s+/).filter(Boolean)) ports.set(Number(p), "ocbox relay");
  return ports;
}

/** Mark each listener expected or not; one row per port and address. Pure. */
export function classifyListeners(
  found: ReadonlyArray<Listener & { command?: string }>,
  expected: ExpectedPorts,
  time: Date,
): ListenerScan {
  const seen = new Map<string, SeenListener>();
  for (const l of found) {
    const key = `${l.address}:${l.port}`;
    if (seen.has(key)) continue;
    const system = expected.system.get(l.port);
    const configured = expected.configured.includes(l.port);
    const reason = system ?? (configured ? "monitors.listeners.expected" : undefined);
    seen.set(key, { ...l, expected: reason !== undefined, ...(reason ? { reason } : {}) });
  }
  const listeners = [...seen.values()].sort((a, b) => a.port - b.port || a.address.localeCompare(b.address));
  return { time: time.toISOString(), listeners, unexpected: listeners.filter((l) => !l.expected).length };
}

const readOr = (path: string) => readFile(path, "utf8").catch(() => "");

/** Socket inode → command line, over every process of the container. */
async function socketOwners(processes: readonly ContainerProcess[]): Promise<Map<number, string>> {
  const owners = new Map<number, string>();
  for (const p of processes) {
    const fds = await readdir(`/proc/${p.pid}/fd`).catch(() => [] as string[]);
    for (const fd of fds) {
      const inode = socketInode(await readlink(`/proc/${p.pid}/fd/${fd}`).catch(() => ""));
      if (inode !== undefined && !owners.has(inode)) owners.set(inode, p.command);
    }
  }
  return owners;
}

/** The listeners inside a running agent container, with their expected ports. */
export async function readListeners(
  engine: Engine,
  agentId: string,
): Promise<{ listeners: Array<Listener & { command?: string }>; system: Map<number, string> }> {
  const processes = await engine.top(agentId);
  const first = processes[0];
  if (!first) return { listeners: [], system: systemPorts(undefined) };
  // Every process shares the container's network namespace: one process's view is enough.
  const tcp = await readOr(`/proc/${first.pid}/net/tcp`);
  if (tcp === "") throw new Error(`cannot read /proc/${first.pid}/net/tcp (is the engine on another host?)`);
  const found = [...parseProcNetTcp(tcp), ...parseProcNetTcp(await readOr(`/proc/${first.pid}/net/tcp6`))];
  const owners = await socketOwners(processes);
  const forward = environValue(await readOr(`/proc/${first.pid}/environ`), "OCBOX_FORWARD_PORTS");
  return {
    listeners: found.map((l) => {
      const command = owners.get(l.inode);
      return command ? { ...l, command } : l;
    }),
    system: systemPorts(forward),
  };
}
