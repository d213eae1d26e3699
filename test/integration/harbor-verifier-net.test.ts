/**
 * Issue 15 item 5, the verifier's own network, host ports, environment and timing, end to end
 * with the built `ocbox`, the real engine and the scripted model driving the agent's bash tool
 * (test/fixtures/harbor-verifier-net):
 * - shared mode with a policy of its own: the agent's `no-network` phase is refused
 *   deb.debian.org as off its list; after the agent stops, the same sidecar is switched to the
 *   verifier's allowlist and the verifier reaches it;
 * - host ports: a listener on the host's 127.0.0.1 listed in the set's ocbox.yaml is reached by
 *   the verifier in both modes; one not listed is reached by neither phase;
 * - separate mode: `[verifier.environment]` cpus, memory_mb, env and workdir are in force in the
 *   verifier's container;
 * - `timings.verifier` (and the trial result.json's verifier span) counts the whole phase: in
 *   separate mode the verifier's own container start, well over test.sh alone.
 *
 * The allowed host is this machine's Debian mirror, as in harbor-network.test.ts: a listener of
 * the test cannot stand in for it, since the proxy never connects to the host's own addresses and
 * the engine's bridges are isolated from each other (and the sidecar's has inter-container
 * traffic off).
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { UnitRecord } from "../../src/eval/unit-record.js";
import { scriptedOpencodeConfig } from "../../src/scripted-model/opencode-config.js";
import type { ScenarioInput } from "../../src/scripted-model/scenario.js";
import { startScriptedModel, type ScriptedModel } from "../../src/scripted-model/server.js";
import { evalRunArgs, ocbox } from "../helpers/cli.js";

const FIXTURES = resolve(import.meta.dirname, "../fixtures/harbor-verifier-net");
const root = mkdtempSync(join(tmpdir(), "ocbox-harbor-verifier-net-"));
const tasks = join(root, "tasks");
const env = { XDG_STATE_HOME: mkdtempSync(join(tmpdir(), "ocbox-state-")) };
let model: ScriptedModel;
let config: string;
const listeners: Server[] = [];
let hostPort = 0;
let closedPort = 0;

const bash = (command: string) => ({ name: "bash", arguments: { command, description: "run it" } });
const done = (match: string) => ({ match, structured: { outcome: "COMPLETE", summary: "done" } });
/** What the agent tries: the verifier's host through the proxy, the listed and the unlisted host port. */
const agentProbes = () =>
  [
    "echo made by the agent > result.txt",
    "{ exec 3<>/dev/tcp/127.0.0.1/3128 && printf 'GET http://deb.debian.org/debian/ HTTP/1.0\\r\\n\\r\\n' >&3 && cat <&3; } > /logs/agent/net.txt 2>&1",
    `{ exec 4<>/dev/tcp/127.0.0.1/${hostPort} && printf 'GET / HTTP/1.0\\r\\n\\r\\n' >&4 && cat <&4; } > /logs/agent/host-port.txt 2>&1`,
    `{ exec 5<>/dev/tcp/127.0.0.1/${closedPort} && printf 'GET / HTTP/1.0\\r\\n\\r\\n' >&5 && cat <&5; } > /logs/agent/closed-port.txt 2>&1`,
    "true",
  ].join("; ");

const unitDir = (out: string, id: string) => join(out, "tasks", id, "r1");
const unitOf = (out: string, id: string) =>
  JSON.parse(readFileSync(join(unitDir(out, id), "unit.json"), "utf8")) as UnitRecord;
const agentLog = (out: string, id: string, name: string) =>
  readFileSync(join(unitDir(out, id), "logs", "agent", name), "utf8");

async function listen(body: string): Promise<number> {
  const server = createServer((_req, res) => res.end(body));
  listeners.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return (server.address() as { port: number }).port;
}

/** The fixtures with the ports filled in, and the set's ocbox.yaml listing only `hostPort`. */
function writeTaskSet(): void {
  cpSync(FIXTURES, tasks, { recursive: true });
  for (const id of ["shared-own-net", "separate-env"]) {
    const file = join(tasks, id, "tests", "test.sh");
    const text = readFileSync(file, "utf8");
    writeFileSync(
      file,
      text.replaceAll("@HOSTPORT@", String(hostPort)).replaceAll("@CLOSEDPORT@", String(closedPort)),
    );
  }
  writeFileSync(join(tasks, "ocbox.yaml"), `egress:\n  hostPorts: [${hostPort}]\n`);
}

beforeAll(async () => {
  hostPort = await listen("host-port-ok\n");
  closedPort = await listen("closed-port-reached\n");
  writeTaskSet();
  const turns: ScenarioInput["turns"] = [
    { match: "SHARED-OWN-NET", toolCalls: [bash(agentProbes())] },
    done("SHARED-OWN-NET"),
    { match: "SEPARATE-ENV", toolCalls: [bash(agentProbes())] },
    done("SEPARATE-ENV"),
  ];
  model = await startScriptedModel({ scenario: { turns } });
  config = join(root, "scripted.json");
  writeFileSync(config, JSON.stringify(scriptedOpencodeConfig(model.url)));
});

afterAll(async () => {
  await model?.close();
  for (const l of listeners) l.close();
});

/** The trial result.json's verifier span, in seconds. */
function trialVerifierSpan(out: string, id: string): number {
  const dir = readdirSync(join(out, "harbor")).find((d) => d.startsWith(`${id}__`));
  if (!dir) throw new Error(`no Harbor trial folder for ${id} in ${out}/harbor`);
  const trial = JSON.parse(readFileSync(join(out, "harbor", dir, "result.json"), "utf8")) as {
    verifier: { started_at: string; finished_at: string };
  };
  return (Date.parse(trial.verifier.finished_at) - Date.parse(trial.verifier.started_at)) / 1000;
}

it("a verifier's own network (shared mode too), its host ports, its environment, and its whole phase timed", async () => {
  const out = join(root, "out");
  const r = await ocbox([...evalRunArgs({ tasks, output: out, config }), "--approve-config", "--json"], {
    env,
  });
  expect(r.code, r.stderr).toBe(0);

  for (const id of ["shared-own-net", "separate-env"]) {
    // The agent's no-network phase: the verifier's host was never on its list.
    expect(agentLog(out, id, "net.txt"), id).toMatch(
      /^HTTP\/1\.[01] 403 [\s\S]*is not on this sandbox's allowlist/,
    );
    // The listed host port is the task set's (both phases); the unlisted one, neither.
    expect(agentLog(out, id, "host-port.txt"), id).toContain("host-port-ok");
    expect(agentLog(out, id, "closed-port.txt"), id).not.toContain("closed-port-reached");
  }

  const shared = unitOf(out, "shared-own-net");
  expect(shared.verifier, shared.verifier?.outputTail).toMatchObject({
    mode: "shared",
    reward: 1,
    rewards: { net: 1, host_port: 1, closed_port: 1, workdir: 1 },
  });
  const separate = unitOf(out, "separate-env");
  expect(separate.verifier, separate.verifier?.outputTail).toMatchObject({
    mode: "separate",
    reward: 1,
    rewards: { net: 1, host_port: 1, closed_port: 1, workdir: 1, cpus: 1, memory: 1, env: 1, cwd: 1 },
  });

  // The verifier's phase is more than test.sh: in separate mode its own container's start.
  for (const [id, unit, over] of [
    ["shared-own-net", shared, 0],
    ["separate-env", separate, 1],
  ] as const) {
    const phase = unit.timings?.verifier ?? 0;
    const script = unit.verifier?.seconds ?? 0;
    expect(phase, `${id}: phase ${phase} s, test.sh ${script} s`).toBeGreaterThan(script + over);
    expect(Math.abs(trialVerifierSpan(out, id) - phase), id).toBeLessThan(0.01);
  }
});
