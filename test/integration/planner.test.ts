/**
 * The one planner's rules, end to end on the real engine with the real opencode and the scripted
 * model: the host's OPENCODE_PERMISSION does not reach an unattended task, and a project's
 * `model` key on `localhost` with an explicit `env.map` line works for `ocbox run` as for `up`.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { ensureImages, type ImageSet } from "../../src/image/build.js";
import { runTask } from "../../src/executor/prepare.js";
import { DockerEngine } from "../../src/runtime/docker-engine.js";
import { LABEL } from "../../src/runtime/labels.js";
import { startScriptedModel, type ScriptedModel } from "../../src/scripted-model/server.js";
import { scriptedOpencodeConfig } from "../../src/scripted-model/opencode-config.js";

const engine = new DockerEngine();
let images: ImageSet;
let model: ScriptedModel | undefined;
const saved = { TEAM_LLM_KEY: process.env.TEAM_LLM_KEY, LLM_KEY: process.env.LLM_KEY };

beforeAll(async () => {
  images = await ensureImages(engine);
});

afterEach(async () => {
  await model?.close();
  model = undefined;
  expect(await engine.listContainers([`${LABEL.ownerPid}=${process.pid}`], true)).toEqual([]);
});

afterAll(() => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

const contract = { outcome: "COMPLETE", summary: "done" };

function workspace(): string {
  return mkdtempSync(join(tmpdir(), "ocbox-planner-"));
}

/** A turn that runs one bash command in the sandbox, then the contract. */
function bashThenDone(command: string) {
  return {
    turns: [
      { toolCalls: [{ name: "bash", arguments: { command, description: "step" } }] },
      { structured: contract },
    ],
  };
}

it("run: the host's OPENCODE_PERMISSION cannot make an unattended task ask (the planner owns it)", async () => {
  model = await startScriptedModel({ scenario: bashThenDone("echo ran > /workspace/out.txt") });
  const ws = workspace();
  process.env.OPENCODE_PERMISSION = JSON.stringify({ bash: "ask" });
  try {
    const result = await runTask({
      workspace: ws,
      prompt: "Do the task.",
      model: "scripted/scripted",
      opencodeConfig: scriptedOpencodeConfig(model.url),
      timeouts: { inactivityS: 30 },
      engine,
      images,
    });
    expect(result.failureReason, result.hint ?? "").toBeNull();
    expect(result.permissionAsks ?? []).toEqual([]);
    expect(readFileSync(join(ws, "out.txt"), "utf8")).toBe("ran\n");
  } finally {
    delete process.env.OPENCODE_PERMISSION;
  }
});

it("run: ocbox.yaml's model on localhost is reached (pinned) and its explicit env.map line wins", async () => {
  model = await startScriptedModel({ scenario: bashThenDone("printenv LLM_KEY > /workspace/key.txt") });
  const ws = workspace();
  const port = new URL(model.url).port;
  writeFileSync(
    join(ws, "ocbox.yaml"),
    [
      "name: planner-test",
      "model:",
      `  baseURL: http://localhost:${port}`,
      "  apiKeyEnv: LLM_KEY",
      "  models: { scripted: {} }",
      "env:",
      "  map: { LLM_KEY: TEAM_LLM_KEY }",
      "",
    ].join("\n"),
  );
  process.env.LLM_KEY = "generated-mapping-value";
  process.env.TEAM_LLM_KEY = "explicit-map-value";
  const result = await runTask({
    workspace: ws,
    prompt: "Do the task.",
    // model.baseURL on loopback and env.map weaken the sandbox: approved here as a caller would.
    approveConfig: true,
    timeouts: { inactivityS: 60 },
    engine,
    images,
  });
  expect(result.failureReason, result.hint ?? "").toBeNull();
  expect(result.model).toMatchObject({ providerID: "local", modelID: "scripted" });
  expect(readFileSync(join(ws, "key.txt"), "utf8")).toBe("explicit-map-value\n");
});
