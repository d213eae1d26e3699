/**
 * The body of the detached relay (`ocbox relay`, started by detached-relay.ts): the reverse
 * relays of one sandbox run (host ports and loopback model endpoints over the engine connection,
 * sandbox/reverse-relay.ts), and a control line on 127.0.0.1 that answers `TOKEN status` and
 * `TOKEN stop`. A relay that ends while the sidecar runs (its engine connection was lost: an ssh
 * forward that died) is started again. It ends when told to, when the sandbox's sidecar is gone,
 * or when the relays keep ending (then its record stays: `ocbox web` and `attach` start it again).
 */
import { timingSafeEqual } from "node:crypto";
import { createServer, type Server } from "node:net";
import type { Engine } from "../runtime/engine.js";
import { startReverseRelays, type ReverseRelays } from "../sandbox/reverse-relay.js";
import { readRelayRecord, removeRelayRecord, writeRelayRecord, type RelayJob } from "./relay-record.js";

const WATCH_MS = 3000;
const MAX_RESTARTS_PER_MINUTE = 5;

export type RelayEnd = "stopped" | "sandbox gone" | "relay ended";

/** The command on one control line, when its token is `token`. Pure. */
export function controlCommand(line: string, token: string): "status" | "stop" | undefined {
  const m = /^([0-9a-f]{32}) (status|stop)$/.exec(line.trim());
  if (!m) return undefined;
  const [given, want] = [Buffer.from(m[1] ?? ""), Buffer.from(token)];
  if (given.length !== want.length || !timingSafeEqual(given, want)) return undefined;
  return m[2] as "status" | "stop";
}

function controlServer(token: string, status: () => object, onStop: () => void): Server {
  return createServer((socket) => {
    let buffer = "";
    socket.setEncoding("utf8");
    socket.setTimeout(5000, () => socket.destroy());
    socket.on("error", () => undefined);
    socket.on("data", (chunk: string) => {
      buffer += chunk;
      if (buffer.length > 200) return void socket.destroy();
      if (!buffer.includes("\n")) return;
      const command = controlCommand(buffer.split("\n")[0] ?? "", token);
      if (!command) return void socket.destroy();
      socket.end(`${JSON.stringify(command === "status" ? status() : { stopping: true })}\n`);
      if (command === "stop") onStop();
    });
  });
}

/** Serve `job` until it ends; returns why. `log` hears what goes wrong. */
export async function serveRelay(
  engine: Engine,
  job: RelayJob,
  options: { token: string; stateDir: string; log: (line: string) => void },
): Promise<RelayEnd> {
  let end: (why: RelayEnd) => void = () => undefined;
  const ended = new Promise<RelayEnd>((resolve) => (end = resolve));
  let carried = 0;
  let restarts: number[] = [];
  let relays: ReverseRelays | undefined;
  const begin = async (): Promise<ReverseRelays> =>
    startReverseRelays(engine, job.egressId, job.targets, (line) => {
      options.log(line);
      if (/ ended$/.test(line)) void again();
      else carried++;
    });
  // A relay that ended while the sidecar runs lost its engine connection (an ssh forward that
  // died, a dropped link): the next engine call reconnects, so the relays start again, a few
  // times a minute at most.
  let restarting = false;
  const again = async () => {
    if (restarting) return;
    restarting = true;
    relays?.close();
    restarts = [...restarts.filter((t) => Date.now() - t < 60_000), Date.now()];
    try {
      const state = await engine.containerState(job.egressId);
      if (!state?.running) return end("sandbox gone");
      if (restarts.length > MAX_RESTARTS_PER_MINUTE) return end("relay ended");
      relays = await begin();
      options.log(`relay: the reverse relays started again (${restarts.length} in the last minute)`);
    } catch (e) {
      options.log(`relay: could not start again: ${e instanceof Error ? e.message : String(e)}`);
      end("relay ended");
    } finally {
      restarting = false;
    }
  };
  relays = await begin();
  const startedAt = new Date().toISOString();
  const server = controlServer(
    options.token,
    () => ({ pid: process.pid, runId: job.runId, targets: job.targets.length, startedAt, problems: carried }),
    () => end("stopped"),
  );
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  await writeRelayRecord(options.stateDir, {
    version: 1,
    ...job,
    pid: process.pid,
    port,
    token: options.token,
    startedAt,
  });
  const watch = setInterval(() => {
    engine.containerState(job.egressId).then(
      (state) => {
        if (!state?.running) end("sandbox gone");
      },
      (e: unknown) =>
        options.log(`relay: the engine did not answer: ${e instanceof Error ? e.message : String(e)}`),
    );
  }, WATCH_MS);
  const why = await ended;
  clearInterval(watch);
  relays?.close();
  server.close();
  // A relay that ended leaves its record for a restart; a stop or a gone sandbox removes it (if
  // it is still this process's: a restarted relay may have written its own).
  if (why !== "relay ended" && (await readRelayRecord(options.stateDir))?.pid === process.pid)
    await removeRelayRecord(options.stateDir);
  return why;
}
