/**
 * `ocbox serve` as its users meet it: the built CLI detached, plain `curl` as the client (a program
 * in any language), the real engine, sandbox and opencode, the scripted model. Tasks end to end
 * with SSE events and the result; two clients share the pools (the second task is warm); a
 * refused version; kill -9 of the service leaves nothing once the next command ran.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "vitest";
import { DockerEngine } from "../../src/runtime/docker-engine.js";
import { LABEL } from "../../src/runtime/labels.js";
import { startScriptedModel, type ScriptedModel } from "../../src/scripted-model/server.js";
import { scriptedOpencodeConfig } from "../../src/scripted-model/opencode-config.js";
import { ocbox } from "../helpers/cli.js";

const run = promisify(execFile);
const engine = new DockerEngine();
const state = mkdtempSync(join(tmpdir(), "ocbox-serve-state-"));
const env = { XDG_STATE_HOME: state };
let model: ScriptedModel;

/** curl, as a client in another language would call the API. */
async function curl(path: string, ...args: string[]): Promise<string> {
  const info = JSON.parse(readFileSync(join(state, "ocbox", "serve", "service.json"), "utf8")) as {
    url: string;
  };
  const token = readFileSync(join(state, "ocbox", "serve", "token"), "utf8").trim();
  const r = await run(
    "curl",
    ["-sS", "-N", "-H", `Authorization: Bearer ${token}`, ...args, `${info.url}${path}`],
    {
      maxBuffer: 64 * 1024 * 1024,
    },
  ).catch((e: NodeJS.ErrnoException) => {
    if (e.code === "ENOENT") throw new Error("curl is missing: apt-get install -y curl");
    throw e;
  });
  return r.stdout;
}

const post = (path: string, body: unknown) =>
  curl(path, "-H", "content-type: application/json", "-d", JSON.stringify(body));

function workspace(): string {
  const ws = mkdtempSync(join(tmpdir(), "ocbox-serve-ws-"));
  writeFileSync(join(ws, "opencode.json"), JSON.stringify(scriptedOpencodeConfig(model.url)));
  return ws;
}

beforeAll(async () => {
  model = await startScriptedModel({
    scenario: {
      turns: [1, 2, 3, 4].map((n) => ({ structured: { outcome: "COMPLETE", summary: `task ${n}` } })),
    },
  });
  const up = await ocbox(["serve", "--detach", "--warm", "1"], { env });
  expect(up.stderr).toBe("");
  expect(up.code).toBe(0);
}, 180_000);

afterAll(async () => {
  await ocbox(["serve", "stop"], { env });
  await model.close();
}, 180_000);

it("curl runs a task end to end: SSE events, then the TaskResult; a second client's task is warm", async () => {
  const ws = workspace();
  const bad = JSON.parse(
    await post("/v1/tasks", { cwd: ws, workspace: ".", prompt: "x", timeout: "soon" }),
  ) as {
    error: { message: string };
  };
  expect(bad.error.message).toMatch(/timeout: /);
  const refused = JSON.parse(await post("/v1/tasks", { cwd: ws, workspace: ".", prompt: "x" })) as {
    error: { code: string; message: string };
  };
  expect(refused.error).toMatchObject({ code: "CONFIG" });
  expect(refused.error.message).toMatch(/not approved/);

  const task = JSON.parse(
    await post("/v1/tasks", { cwd: ws, workspace: ".", prompt: "do it", approveConfig: true }),
  ) as { id: string; status: string };
  expect(task.status).toBe("running");
  const events = await curl(`/v1/tasks/${task.id}/events`);
  expect(events).toMatch(/event: task\ndata: \{"phase":"queued"/);
  expect(events).toMatch(/event: task\ndata: \{"phase":"model","message":"model scripted\/scripted at /);
  expect(events).toMatch(/event: end\ndata: \{"id":"t-/);
  const first = JSON.parse(await curl(`/v1/tasks/${task.id}/result`)) as {
    status: string;
    exitCode: number;
    result: { outcome: string; sandbox: string };
  };
  expect(first).toMatchObject({
    status: "done",
    exitCode: 0,
    result: { outcome: "COMPLETE", sandbox: "cold" },
  });

  // Another program, another workspace of the same profile: the service's warm pool serves it.
  const other = workspace();
  const second = JSON.parse(
    await post("/v1/tasks", { cwd: other, workspace: other, prompt: "again", approveConfig: true }),
  ) as { id: string };
  const done = JSON.parse(await curl(`/v1/tasks/${second.id}/result`)) as {
    exitCode: number;
    result: { sandbox: string; outcome: string };
  };
  expect(done).toMatchObject({ exitCode: 0, result: { outcome: "COMPLETE", sandbox: "warm" } });
  const list = JSON.parse(await curl("/v1/tasks")) as Array<{ id: string }>;
  expect(list.map((t) => t.id)).toEqual(expect.arrayContaining([task.id, second.id]));

  const old = JSON.parse(await curl("/v1/status", "-H", "x-ocbox-version: 0.0.1")) as {
    error: { message: string };
  };
  expect(old.error.message).toMatch(/this ocbox serve is version .*; the client is 0\.0\.1/);
}, 600_000);

it("kill -9 of the service leaves nothing once the next command ran", async () => {
  const info = JSON.parse(readFileSync(join(state, "ocbox", "serve", "service.json"), "utf8")) as {
    pid: number;
  };
  const mine = [`${LABEL.ownerPid}=${info.pid}`];
  const deadline = Date.now() + 240_000;
  // Its warm sandbox (refilled after the warm task) is what kill -9 would leave behind.
  // Killed while its create calls are still in the engine, the containers they make appear after
  // the next command's reaper looked (the one after it reaps them): wait until the sandbox is
  // whole, its containers running and their number steady for a second.
  let seen = "";
  let steadySince = Date.now();
  for (;;) {
    if (Date.now() > deadline) throw new Error("the service's warm sandbox never appeared");
    const list = await engine.listContainers(mine, true);
    const now = list
      .map((c) => `${c.name}:${c.state}`)
      .sort()
      .join(",");
    if (now !== seen) [seen, steadySince] = [now, Date.now()];
    if (list.length > 0 && list.every((c) => c.state === "running") && Date.now() - steadySince > 1000) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  process.kill(info.pid, "SIGKILL");
  const status = await ocbox(["serve", "status"], { env });
  expect(status.code).toBe(1);
  expect(status.stdout).toMatch(/not running/);
  // The next command that starts work reaps: here a new service.
  const again = await ocbox(["serve", "--detach"], { env });
  expect(again.code).toBe(0);
  expect(await engine.listContainers(mine, true)).toEqual([]);
  expect(await engine.listVolumes(mine)).toEqual([]);
}, 300_000);
