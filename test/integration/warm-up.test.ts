/**
 * The warm pool's throwaway prompt (issue 16, executor/warm-up-provider.ts): it runs before a task
 * takes the sandbox, reaches no model and nothing outside the container, leaves no session, and
 * the task that takes the sandbox runs as before.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureImages, type ImageSet } from "../../src/image/build.js";
import { planTask, runTask, type RunTaskOptions } from "../../src/executor/prepare.js";
import { WarmPool } from "../../src/executor/warm-pool.js";
import type { StartedSandbox } from "../../src/sandbox/start.js";
import { DockerEngine } from "../../src/runtime/docker-engine.js";
import { LABEL } from "../../src/runtime/labels.js";
import { startScriptedModel, type ScriptedModel } from "../../src/scripted-model/server.js";
import { scriptedOpencodeConfig } from "../../src/scripted-model/opencode-config.js";
import { setTraceSink } from "../../src/util/trace.js";
import { testConfig } from "../helpers/runtime.js";

const engine = new DockerEngine();
let images: ImageSet;
let model: ScriptedModel;
const contract = { outcome: "COMPLETE", summary: "done" };

beforeAll(async () => {
  images = await ensureImages(engine);
  model = await startScriptedModel({ scenario: { turns: [{ structured: contract }] } });
});

afterAll(async () => {
  await model.close();
  expect(await engine.listContainers([`${LABEL.ownerPid}=${process.pid}`], true)).toEqual([]);
});

function workspace(): string {
  const ws = mkdtempSync(join(tmpdir(), "ocbox-warmup-"));
  writeFileSync(join(ws, "README.md"), "a task workspace\n");
  return ws;
}

/** The ready sandboxes of a pool (a test's look inside; nothing else reads them). */
const readySandboxes = (pool: WarmPool): StartedSandbox[] =>
  (pool as unknown as { ready: Array<{ sandbox: StartedSandbox }> }).ready.map((s) => s.sandbox);

describe("the warm pool's warm-up prompt", () => {
  it("reaches no model and nothing outside, leaves no session, and the task that takes the sandbox completes", async () => {
    const options = (ws: string): RunTaskOptions => ({
      workspace: ws,
      prompt: "Do the task.",
      model: "scripted/scripted",
      opencodeConfig: scriptedOpencodeConfig(model.url),
      engine,
      images,
      ...testConfig(),
    });
    const plan = await planTask(options(workspace()));
    const lines: string[] = [];
    const steps: string[] = [];
    const pool = new WarmPool(engine, plan.profile, { size: 1, limit: 1, onLine: (l) => lines.push(l) });
    setTraceSink((s) => steps.push(s.name));
    try {
      await pool.whenFull();
      expect(steps).toContain("warm.warm-up-prompt");
      // Only a step that ran out of time may fail (at a load of 45 on 2 cores even the preload
      // did); whatever happened, the properties below must hold.
      expect(lines.filter((l) => !l.includes("aborted due to timeout"))).toEqual([]);
      // The stub answered from inside the container: the model saw nothing, the proxy nothing.
      expect(model.requests).toEqual([]);
      const [sandbox] = readySandboxes(pool);
      if (!sandbox) throw new Error("the pool has no ready sandbox");
      expect(await sandbox.egressDecisions()).toEqual([]);
      const sessions = await (await sandbox.client("/workspace")).session.list();
      expect(sessions.data).toEqual([]);
      const result = await runTask({ ...options(workspace()), warmPool: pool });
      expect(result).toMatchObject({ outcome: "COMPLETE", sandbox: "warm", contract });
      // The task's own prompt is the first the model sees.
      expect(model.requests.filter((r) => r.answeredBy === "turn")).toHaveLength(1);
    } finally {
      setTraceSink(undefined);
      await pool.close();
    }
  });
});
