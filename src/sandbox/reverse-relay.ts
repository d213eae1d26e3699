/**
 * Host ports (B3) and gateway upstreams only the host reaches (B4, a model on 127.0.0.1) mean
 * THIS machine's. Where the engine's host is not this machine ("exec" transport), the host relay
 * container (engine host's network namespace) would reach the wrong loopback; instead, as
 * `ssh -R` would, the connections come back over the engine connection:
 *   - one control exec per target in the egress sidecar listens where the agent's (or squid's)
 *     relay expects it (fwd-PORT.sock in the socket volume, up-gwN.sock in the relay volume);
 *   - for each connection accepted there, the sidecar parks it on a socket of its own tmpfs and
 *     prints that socket's random id on the control exec's stderr;
 *   - this process opens a second exec that connects to the parked socket, connects to the
 *     target on its own side, and pipes the two.
 * The target of each control exec is fixed by ocbox from the plan (an approved host port, or a
 * gateway's upstream); nothing that comes through the relay names a destination. An id line is
 * only the sidecar's (the agent's bytes travel on the parked sockets, never on stderr) and is
 * checked against a strict pattern all the same.
 */
import { connect as netConnect, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { RELAY_DIR, SOCKET_DIR } from "../image/dockerfile.js";
import type { Engine } from "../runtime/engine.js";

/** One way back: where the sidecar listens, and what this process connects it to. */
export interface ReverseTarget {
  /** The socket the control exec listens on, in the sidecar. */
  listen: string;
  host: string;
  port: number;
  /** For messages: "host port 5432", "gateway gw0". */
  what: string;
}

const PARKED = "/tmp/ocbox-back";
const ID_LINE = /^ocbox-back ([0-9a-f]{16})$/;

/** The script each accepted connection runs in the sidecar (its stdio is that connection). */
const PARK_SCRIPT = [
  "set -e",
  `mkdir -p ${PARKED}`,
  "id=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \\n')",
  'echo "ocbox-back $id" >&2',
  `exec socat STDIO UNIX-LISTEN:${PARKED}/$id.sock,mode=600`,
].join("\n");

/** The control exec's argv and environment for one target. Pure. */
export function controlExec(target: ReverseTarget): { argv: string[]; env: Record<string, string> } {
  return {
    // The script goes through a file: socat's address syntax would take quotes and commas apart.
    argv: [
      "bash",
      "-c",
      [
        `mkdir -p ${PARKED}`,
        `printf '%s\n' "$OCBOX_PARK" > ${PARKED}/park.sh`,
        `exec socat UNIX-LISTEN:${target.listen},fork,mode=600,unlink-early SYSTEM:'bash ${PARKED}/park.sh'`,
      ].join(" && "),
    ],
    env: { OCBOX_PARK: PARK_SCRIPT },
  };
}

/** The exec that picks up a parked connection. Pure. */
export function pickupArgv(id: string): string[] {
  return ["socat", "-", `UNIX-CONNECT:${PARKED}/${id}.sock,retry=100,interval=0.05`];
}

/** The parked connection's id in a line of the control exec's stderr, or undefined. Pure. */
export function parkedId(line: string): string | undefined {
  return ID_LINE.exec(line.trim())?.[1];
}

/**
 * The targets of a sandbox: every host port at 127.0.0.1, and every "gwN=HOST:PORT" upstream
 * only the host reaches (EgressPlan.upstreams). Pure.
 */
export function reverseTargets(
  forwardPorts: readonly number[],
  upstreams: readonly string[],
): ReverseTarget[] {
  const ports = forwardPorts.map((port) => ({
    listen: `${SOCKET_DIR}/fwd-${port}.sock`,
    host: "127.0.0.1",
    port,
    what: `host port ${port}`,
  }));
  const gateways = upstreams.flatMap((u) => {
    const m = /^(gw\d+)=(\[[^\]]+\]|[^:]+):(\d+)$/.exec(u);
    if (!m) return [];
    const [, name, host, port] = m as unknown as [string, string, string, string];
    return [
      {
        listen: `${RELAY_DIR}/up-${name}.sock`,
        host: host.replace(/^\[|\]$/g, ""),
        port: Number(port),
        what: `gateway ${name}`,
      },
    ];
  });
  return [...ports, ...gateways];
}

export interface ReverseRelays {
  close(): void;
}

/** Start the control execs in the sidecar `egressId`; `onLine` hears what goes wrong. */
export async function startReverseRelays(
  engine: Engine,
  egressId: string,
  targets: readonly ReverseTarget[],
  onLine: (line: string) => void,
): Promise<ReverseRelays> {
  const open = new Set<Duplex | Socket>();
  let closed = false;
  const track = <T extends Duplex | Socket>(s: T): T => {
    open.add(s);
    s.once("close", () => open.delete(s));
    return s;
  };
  const carry = (target: ReverseTarget, id: string) => {
    void engine.execStream(egressId, pickupArgv(id)).then(
      (back) => {
        track(back);
        back.on("error", () => undefined);
        const local = track(netConnect({ host: target.host, port: target.port }));
        local.once("error", (e) => {
          onLine(`reverse relay: ${target.what} (${target.host}:${target.port}): ${e.message}`);
          back.destroy();
        });
        back.once("error", () => local.destroy());
        back.once("close", () => local.destroy());
        local.once("close", () => back.destroy());
        back.pipe(local).pipe(back);
      },
      (e: unknown) => onLine(`reverse relay: ${target.what}: ${e instanceof Error ? e.message : String(e)}`),
    );
  };
  await Promise.all(
    targets.map(async (target) => {
      const { argv, env } = controlExec(target);
      const control = await engine.execStream(egressId, argv, {
        env,
        onStderr: (line) => {
          const id = parkedId(line);
          if (id) carry(target, id);
          else if (line.trim()) onLine(`reverse relay (${target.what}): ${line}`);
        },
      });
      track(control);
      control.on("error", () => undefined);
      control.resume();
      control.once("close", () => {
        if (!closed) onLine(`reverse relay for ${target.what} ended`);
      });
    }),
  );
  return {
    close: () => {
      closed = true;
      for (const s of open) s.destroy();
    },
  };
}
