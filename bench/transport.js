// `node bench/transport.js [--rounds N]` (after `npm run build`): the two ways to reach a sandbox's
// server (issue 14 item 3), paired on ONE sandbox: its published 127.0.0.1 port and exec'd relays
// into its sidecar over the engine connection. Measures, interleaved pair by pair:
//   - a request on a kept-alive connection (GET /global/health, authenticated);
//   - a new connection plus its first request (a fresh agent each time: one exec per connection);
//   - time to the first SSE event of /event on a new connection.
// Writes bench/results/<date>-transport.json. Never fails on a timing.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Agent } from "undici";
import { ensureImages } from "../dist/image/build.js";
import { AGENT_UID } from "../dist/image/dockerfile.js";
import { authorization } from "../dist/opencode/server-handle.js";
import { DockerEngine } from "../dist/runtime/docker-engine.js";
import { execFetch, serverConnector } from "../dist/sandbox/server-transport.js";
import { DEFAULT_LIMITS, agentUserFor, currentHostUser } from "../dist/sandbox/spec.js";
import { newRunId, startSandbox } from "../dist/sandbox/start.js";
import { machine, median, writeResults } from "./lib.js";

const args = process.argv.slice(2);
const roundsAt = args.indexOf("--rounds");
const rounds = roundsAt >= 0 ? Number(args[roundsAt + 1]) : 30;

const ms = (xs) => ({
  n: xs.length,
  medianMs: +median(xs).toFixed(2),
  p90Ms: +[...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.9)].toFixed(2),
  minMs: +Math.min(...xs).toFixed(2),
  maxMs: +Math.max(...xs).toFixed(2),
});

async function timed(fn) {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

async function firstEvent(fetchFn, url, auth) {
  const controller = new AbortController();
  const res = await fetchFn(`${url}/event`, { headers: { authorization: auth }, signal: controller.signal });
  const reader = res.body.getReader();
  await reader.read();
  controller.abort();
}

const engine = new DockerEngine();
const images = await ensureImages(engine);
const host = currentHostUser();
const ws = mkdtempSync(join(tmpdir(), "ocbox-bench-transport-"));
const sandbox = await startSandbox(engine, {
  sandboxId: "bench-transport",
  runId: newRunId(),
  workspace: ws,
  images: { sandbox: images.sandbox.tag, egress: images.egress.tag },
  agentUser: agentUserFor(host, AGENT_UID),
  hostUser: host,
  forwardPorts: [],
  hostPort: 0,
  serverTransport: "port",
  env: {},
  limits: DEFAULT_LIMITS,
  server: { logLevel: "INFO", printLogs: false },
  lifetime: "session",
  readyTimeoutMs: 90_000,
});
const auth = authorization(sandbox.server.password);
const portUrl = sandbox.server.url;
const execUrl = "http://127.0.0.1:4096";
const connect = serverConnector(engine, sandbox.egressId);
const result = { at: new Date().toISOString(), machine: machine(), sharedMachine: true, rounds };
try {
  const keptPort = new Agent({ keepAliveTimeout: 30_000 });
  const portFetch = (u, init) => fetch(u, { ...init, dispatcher: keptPort });
  const keptExec = execFetch(connect);
  const health = (f, base) => async () => {
    const r = await f(`${base}/global/health`, { headers: { authorization: auth } });
    await r.arrayBuffer();
  };
  // Warm both kept connections first.
  await health(portFetch, portUrl)();
  await health(keptExec.fetch, execUrl)();
  const kept = { port: [], exec: [] };
  const fresh = { port: [], exec: [] };
  const sse = { port: [], exec: [] };
  for (let i = 0; i < rounds; i++) {
    kept.port.push(await timed(health(portFetch, portUrl)));
    kept.exec.push(await timed(health(keptExec.fetch, execUrl)));
  }
  for (let i = 0; i < Math.min(rounds, 15); i++) {
    const a = new Agent();
    fresh.port.push(await timed(health((u, init) => fetch(u, { ...init, dispatcher: a }), portUrl)));
    await a.close();
    const e = execFetch(connect);
    fresh.exec.push(await timed(health(e.fetch, execUrl)));
    await e.close();
    const b = new Agent();
    sse.port.push(
      await timed(() => firstEvent((u, init) => fetch(u, { ...init, dispatcher: b }), portUrl, auth)),
    );
    await b.destroy();
    const e2 = execFetch(connect);
    sse.exec.push(await timed(() => firstEvent(e2.fetch, execUrl, auth)));
    await e2.close().catch(() => undefined);
  }
  await keptPort.close();
  await keptExec.close();
  for (const [name, pair] of Object.entries({ kept, fresh, sse })) {
    result[name] = { port: ms(pair.port), exec: ms(pair.exec) };
    console.log(
      `${name}: port median ${result[name].port.medianMs} ms (p90 ${result[name].port.p90Ms}), exec median ${result[name].exec.medianMs} ms (p90 ${result[name].exec.p90Ms}), n=${pair.port.length}`,
    );
  }
  console.log(`wrote ${await writeResults("transport", result)}`);
} finally {
  await sandbox.stop();
  rmSync(ws, { recursive: true, force: true });
}
