/**
 * A task sandbox's OpenCode loads the models.dev entries of the providers the task can call, not
 * the whole snapshot bundled in its binary (issue 16: 1.4 s of CPU per sandbox). What the agent
 * can use is unchanged: the real engine, image and OpenCode serve the same connected providers,
 * models and defaults as a sandbox of the same plan with the whole snapshot.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { ensureImages, type ImageSet } from "../../src/image/build.js";
import { planTask } from "../../src/executor/prepare.js";
import { canServe, profileKey, specFor } from "../../src/executor/task-sandbox-spec.js";
import { DockerEngine } from "../../src/runtime/docker-engine.js";
import { LABEL } from "../../src/runtime/labels.js";
import { startSandbox } from "../../src/sandbox/start.js";
import { authorization } from "../../src/opencode/server-handle.js";
import { startScriptedModel, type ScriptedModel } from "../../src/scripted-model/server.js";
import { scriptedOpencodeConfig } from "../../src/scripted-model/opencode-config.js";

const engine = new DockerEngine();
let images: ImageSet;
let model: ScriptedModel;
let ws: string;
let ws2: string;

beforeAll(async () => {
  images = await ensureImages(engine);
  model = await startScriptedModel({ scenario: { turns: [] } });
  ws = mkdtempSync(join(tmpdir(), "ocbox-models-"));
  ws2 = mkdtempSync(join(tmpdir(), "ocbox-models-"));
  for (const dir of [ws, ws2]) writeFileSync(join(dir, "README.md"), "models\n");
});

afterAll(async () => {
  await model?.close();
  for (const dir of [ws, ws2]) rmSync(dir, { recursive: true, force: true });
  expect(await engine.listContainers([`${LABEL.ownerPid}=${process.pid}`], true)).toEqual([]);
});

/** The server's answer to `path`, as the agent's own UI and SDK would get it. */
async function get(server: { url: string; password: string; fetch?: typeof fetch }, path: string) {
  const res = await (server.fetch ?? fetch)(`${server.url}${path}`, {
    headers: { authorization: authorization(server.password), "x-opencode-directory": "/workspace" },
  });
  expect(res.status, path).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

it("a task's OpenCode has only its providers' models, and offers exactly what the whole snapshot would", async () => {
  const plan = await planTask({
    workspace: ws,
    prompt: "p",
    model: "scripted/scripted",
    opencodeConfig: scriptedOpencodeConfig(model.url),
    // A key passed in makes its provider one the agent can call.
    env: { ANTHROPIC_API_KEY: "sk-ant-test-not-a-key" },
    engine,
    images,
  });
  expect(plan.profile.modelProviders).toEqual(["anthropic", "opencode", "scripted"]);
  // Another model means another set: a warm sandbox of one never serves a task of the other.
  const other = await planTask({
    workspace: ws,
    prompt: "p",
    model: "scripted/scripted",
    opencodeConfig: scriptedOpencodeConfig(model.url),
    engine,
    images,
  });
  expect(other.profile.modelProviders).toEqual(["opencode", "scripted"]);
  expect(profileKey(other.profile)).not.toBe(profileKey(plan.profile));
  // A warm sandbox whose file holds the task's providers serves it; one that lacks one does not.
  const fewer = { ...plan.profile, modelProviders: ["opencode", "scripted"] };
  expect(canServe(plan.profile, fewer)).toBe(true);
  expect(canServe(fewer, plan.profile)).toBe(false);

  const { modelProviders: _trimmed, ...whole } = plan.profile;
  await using trimmed = await startSandbox(engine, specFor(plan.profile, ws, "models-trimmed"));
  await using full = await startSandbox(engine, specFor(whole, ws2, "models-whole"));
  const [a, b] = await Promise.all([
    get(trimmed.server, "/config/providers"),
    get(full.server, "/config/providers"),
  ]);
  const ids = (x: Record<string, unknown>) => (x.providers as Array<{ id: string }>).map((p) => p.id).sort();
  expect(ids(a)).toEqual(["anthropic", "opencode", "scripted"]);
  // The same connected providers, every model and option of each, and the same defaults.
  expect(a).toEqual(b);
  // What changed is what OpenCode builds and never offers: the catalogue of every other provider.
  const all = async (s: typeof trimmed) => ((await get(s.server, "/provider")).all as unknown[]).length;
  expect(await all(trimmed)).toBe(3);
  expect(await all(full)).toBeGreaterThan(200);
}, 180_000);
