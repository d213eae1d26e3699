/**
 * `ocbox run` with this user's `ocbox serve` running (issue 16): the built CLI both ways, the real
 * engine, sandbox and opencode, the scripted model. The same task handed over and run here gives
 * the same stdout, exit code and result fields (ids and timings apart) and the agent sees the
 * client's environment, not the service's; a bad config and a timeout end alike; Ctrl+C on the
 * client aborts the task in the service, its sandbox is removed, and the client exits 130.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { DockerEngine } from "../../src/runtime/docker-engine.js";
import { LABEL } from "../../src/runtime/labels.js";
import { connectService } from "../../src/service/client.js";
import { serviceFiles } from "../../src/service/service-files.js";
import type { ServiceTask } from "../../src/service/task-store.js";
import { scriptedOpencodeConfig } from "../../src/scripted-model/opencode-config.js";
import { startScriptedModel, type ScriptedModel } from "../../src/scripted-model/server.js";
import { ocbox, type CliResult } from "../helpers/cli.js";

const engine = new DockerEngine();
const state = mkdtempSync(join(tmpdir(), "ocbox-handoff-state-"));
const files = serviceFiles({ XDG_STATE_HOME: state });
// The service's own value of the probe: a task must never see it.
const serviceEnv = { XDG_STATE_HOME: state, OPENCODE_HANDOFF_PROBE: "service-side" };
const clientEnv = { XDG_STATE_HOME: state, OPENCODE_HANDOFF_PROBE: "client-side" };
const HANDED = /^ocbox: task handed to the running service \(pid \d+\); --no-serve runs it here\n/;
const contract = { outcome: "COMPLETE", summary: "same either way" };
let model: ScriptedModel;

const probeStep = {
  match: "TASK-SAME",
  toolCalls: [
    {
      name: "bash",
      arguments: {
        command: 'printf %s "$OPENCODE_HANDOFF_PROBE" > /workspace/probe.txt',
        description: "probe",
      },
    },
  ],
};

function workspace(extra: Record<string, string> = {}): string {
  const ws = mkdtempSync(join(tmpdir(), "ocbox-handoff-ws-"));
  writeFileSync(join(ws, "opencode.json"), JSON.stringify(scriptedOpencodeConfig(model.url)));
  for (const [name, text] of Object.entries(extra)) writeFileSync(join(ws, name), text);
  return ws;
}

const run = (args: string[], here = false) =>
  ocbox(["run", ...args, ...(here ? ["--no-serve"] : [])], { env: clientEnv });

/** A result's fields that differ by nature between two runs, and how the sandbox was got. */
function comparable(stdout: string): Record<string, unknown> {
  const { sessionId: _s, timings: _t, sandbox: _b, ...rest } = JSON.parse(stdout) as Record<string, unknown>;
  return rest;
}

beforeAll(async () => {
  model = await startScriptedModel({
    scenario: {
      turns: [
        ...[1, 2, 3, 4].flatMap(() => [probeStep, { match: "TASK-SAME", structured: contract }]),
        ...[1, 2, 3].map(() => ({ match: "TASK-HANG", hang: true as const })),
      ],
    },
  });
  const up = await ocbox(["serve", "--detach", "--warm", "1"], { env: serviceEnv });
  expect(up.stderr).toBe("");
  expect(up.code).toBe(0);
}, 180_000);

afterAll(async () => {
  await ocbox(["serve", "stop"], { env: serviceEnv });
  await model.close();
}, 180_000);

it("the same task both ways: same stdout, exit code and result; the agent saw the client's environment", async () => {
  const ws = workspace();
  const args = ["-w", ws, "-p", "TASK-SAME: probe", "--approve-config"];
  const here = await run([...args, "--json"], true);
  expect(here.stderr).not.toMatch(/handed/);
  expect(readFileSync(join(ws, "probe.txt"), "utf8")).toBe("client-side");
  writeFileSync(join(ws, "probe.txt"), "");
  const handed = await run([...args, "--json"]);
  expect(handed.stderr).toMatch(HANDED);
  expect(handed.stderr.replace(HANDED, "")).toBe(here.stderr);
  expect(handed.code).toBe(here.code);
  expect(here.code).toBe(0);
  expect(comparable(handed.stdout)).toEqual(comparable(here.stdout));
  expect(comparable(here.stdout)).toMatchObject({ outcome: "COMPLETE", contract });
  expect(readFileSync(join(ws, "probe.txt"), "utf8")).toBe("client-side");

  // The text output too, with the time of the run as the only difference.
  const seconds = (r: CliResult) => r.stdout.replace(/ in [\d.]+ s,/, " in N s,");
  const textHere = await run(args, true);
  const textHanded = await run(args);
  expect(textHanded.code).toBe(textHere.code);
  expect(seconds(textHanded)).toBe(seconds(textHere));
  expect(textHanded.stderr.replace(HANDED, "")).toBe(textHere.stderr);
}, 600_000);

it("a bad config ends alike: exit 2, the same message, nothing handed over", async () => {
  const ws = workspace({ "ocbox.yaml": "limits:\n  memory: lots\n" });
  const here = await run(["-w", ws, "-p", "TASK-BAD"], true);
  const handed = await run(["-w", ws, "-p", "TASK-BAD"]);
  expect(here.code).toBe(2);
  expect(handed.code).toBe(2);
  expect(here.stderr).toMatch(/ocbox\.yaml/);
  expect(handed.stderr).toBe(here.stderr);
  expect(handed.stdout).toBe(here.stdout);
}, 300_000);

it("Ctrl+C on the client aborts the task in the service, its sandbox goes, the client exits 130; a timeout ends alike", async () => {
  const ws = workspace();
  const client = await connectService(files);
  if (!client) throw new Error("the service is not running");
  // With a pool for this profile (the tests above), the task takes its ready warm sandbox; alone,
  // it starts cold on the workspace. Either way those containers must be gone after Ctrl+C.
  const deadline = Date.now() + 300_000;
  type Status = { warm: { ready: number; profiles: number; used: { sandboxes: number } } };
  const status = () => client.call<Status>("GET", "/v1/status");
  const warm = (await status()).warm.profiles > 0;
  for (
    let s = await status();
    warm && (s.warm.ready < 1 || s.warm.used.sandboxes > s.warm.ready);
    s = await status()
  ) {
    if (Date.now() > deadline) throw new Error("the service's warm sandbox never became ready");
    await new Promise((r) => setTimeout(r, 200));
  }
  let taken = warm ? await engine.listContainers([`${LABEL.ownerPid}=${client.info.pid}`], true) : [];
  const seen = model.requests.length;
  const pending = run(["-w", ws, "-p", "TASK-HANG: wait", "--approve-config"]);
  while (!model.requests.slice(seen).some((r) => r.answeredBy === "turn")) {
    if (Date.now() > deadline) throw new Error("the task never reached the model");
    await new Promise((r) => setTimeout(r, 200));
  }
  if (!warm) taken = await engine.listContainers([`${LABEL.workspace}=${ws}`], true);
  expect(taken.length).toBeGreaterThan(0);
  pending.child.kill("SIGINT");
  const done = await pending;
  expect(done.code).toBe(130);
  expect(done.stderr).toMatch(/interrupted; the sandbox was removed/);
  const tasks = await client.call<ServiceTask[]>("GET", "/v1/tasks");
  const task = tasks.find((t) => t.prompt === "TASK-HANG: wait");
  expect(task).toMatchObject({ status: "aborted", exitCode: 130, error: { code: "INTERRUPTED" } });
  for (const c of taken) expect(await engine.containerState(c.id)).toBeUndefined();

  const args = ["-w", ws, "-p", "TASK-HANG: timeout", "--timeout", "3", "--json"];
  const here = await run(args, true);
  const handed = await run(args);
  expect(here.code).toBe(handed.code);
  // How many prompts went out before a 3 s cap depends on the start (cold here, warm in the
  // service; a loaded machine's cold start can take the whole 3 s, and then the hint says the
  // cap fired while the task waited for its sandbox): not part of "alike". The cap itself is.
  const untilCap = (stdout: string) => {
    const { attempts: _a, hint, ...rest } = comparable(stdout);
    return { ...rest, hint: String(hint).replace(/^(The task hit its hard cap of 3 s)[;,]? .*$/s, "$1") };
  };
  expect(untilCap(handed.stdout)).toEqual(untilCap(here.stdout));
  expect(comparable(here.stdout)).toMatchObject({ outcome: "ERROR", failureReason: "TIMEOUT" });
}, 900_000);
