/**
 * Issue 17, failure 1: a workspace opencode.json with `"permission": {"bash": "ask"}` made the
 * agent wait for a reply nobody sent, until the inactivity timer (1200 s). Now the executor
 * answers every ask by the unattended policy, records it with the config line that asked, and a
 * rejected ask ends the task at once with failure reason PERMISSION.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { ensureImages, type ImageSet } from "../../src/image/build.js";
import { runTask, type RunTaskOptions } from "../../src/executor/prepare.js";
import { DockerEngine } from "../../src/runtime/docker-engine.js";
import { LABEL } from "../../src/runtime/labels.js";
import { startScriptedModel, type ScriptedModel } from "../../src/scripted-model/server.js";
import { scriptedOpencodeConfig } from "../../src/scripted-model/opencode-config.js";

const engine = new DockerEngine();
let images: ImageSet;
let model: ScriptedModel | undefined;

beforeAll(async () => {
  images = await ensureImages(engine);
});

afterEach(async () => {
  await model?.close();
  model = undefined;
  expect(await engine.listContainers([`${LABEL.ownerPid}=${process.pid}`], true)).toEqual([]);
});

const askingConfig = `{
  "$schema": "https://opencode.ai/config.json",
  "permission": {
    "edit": "allow",
    "bash": "ask"
  }
}
`;

async function askingTask(extra: Partial<RunTaskOptions>) {
  model = await startScriptedModel({
    scenario: {
      turns: [
        {
          toolCalls: [
            {
              name: "bash",
              arguments: { command: "echo ran > /workspace/ran.txt", description: "write a file" },
            },
          ],
        },
        { structured: { outcome: "COMPLETE", summary: "done" } },
      ],
    },
  });
  const ws = mkdtempSync(join(tmpdir(), "ocbox-ask-"));
  writeFileSync(join(ws, "opencode.json"), askingConfig);
  const started = performance.now();
  const result = await runTask({
    workspace: ws,
    prompt: "Write the file.",
    model: "scripted/scripted",
    opencodeConfig: scriptedOpencodeConfig(model.url),
    // The workspace's opencode.json has `permission` lines: a weakening key, approved here.
    approveConfig: true,
    engine,
    images,
    // The old code waited for this timer; the fix must end well before it.
    timeouts: { inactivityS: 60 },
    ...extra,
  });
  return { result, ws, seconds: (performance.now() - started) / 1000 };
}

describe("permission asks in unattended tasks", () => {
  it("the default policy rejects the ask at once, ends PERMISSION and names opencode.json's line", async () => {
    const { result, ws, seconds } = await askingTask({});
    expect(result.failureReason).toBe("PERMISSION");
    expect(result.outcome).toBe("ERROR");
    expect(seconds).toBeLessThan(45);
    expect(result.permissionAsks).toEqual([
      {
        permission: "bash",
        patterns: ["echo ran > /workspace/ran.txt"],
        answer: "reject",
        configLine: { file: "opencode.json", line: 5, text: '"bash": "ask"' },
      },
    ]);
    expect(result.hint).toContain("opencode.json:5");
    expect(result.hint).toContain("--permissions autonomous");
    expect(existsSync(join(ws, "ran.txt"))).toBe(false);
  });

  it("autonomous allows the ask: the bash call runs and the task completes", async () => {
    const { result, ws } = await askingTask({ permissions: "autonomous" });
    expect(result).toMatchObject({ outcome: "COMPLETE", failureReason: null });
    expect(result.permissionAsks).toMatchObject([
      { permission: "bash", answer: "once", configLine: { file: "opencode.json", line: 5 } },
    ]);
    expect(readFileSync(join(ws, "ran.txt"), "utf8")).toBe("ran\n");
  });
});
