/**
 * `ocbox smoke` (FEATURES E12, first version): prove the whole chain on this machine, one step at
 * a time, with the fix for whatever fails. Engine → images → a sandbox on a temp workspace → one
 * prompt against the scripted model (no API key) that makes the real OpenCode write a file with a
 * tool call and answer with an Agent Contract → the file on the host and the contract parsed.
 */
import { FORWARD_FIX, podmanForwardProblem } from "../runtime/forward-policy.js";
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { OcboxError, errorMessage } from "../errors.js";
import { ensureImages, type ImageOptions } from "../image/build.js";
import { WORKSPACE } from "../image/dockerfile.js";
import { newSession, promptAndWait } from "../opencode/prompt.js";
import type { Engine } from "../runtime/engine.js";
import { startScriptedModel, type ScriptedModel } from "../scripted-model/server.js";
import { scriptedOpencodeConfig } from "../scripted-model/opencode-config.js";
import { reap } from "../sandbox/reaper.js";
import { defaultProjectConfig } from "../config/project-schema.js";
import { currentHostUser } from "../sandbox/spec.js";
import { startSandbox, type StartedSandbox } from "../sandbox/start.js";
import { parseOutcome, baseContract } from "./contract.js";
import { planTask } from "./prepare.js";
import { specFor } from "./task-sandbox-spec.js";

export type SmokeStepName = "engine" | "image" | "sandbox" | "prompt" | "result";

export interface SmokeStep {
  name: SmokeStepName;
  status: "ok" | "failed" | "skipped";
  seconds: number;
  /** What was found, in a few words. */
  detail: string;
  error?: { code: string; message: string; detail?: string };
  fix?: string;
}

export interface SmokeReport {
  ok: boolean;
  steps: SmokeStep[];
  seconds: number;
}

export interface SmokeOptions {
  image?: Omit<ImageOptions, "onLine" | "onProgress">;
  signal?: AbortSignal;
  /** Each step as it ends. */
  onStep?: (step: SmokeStep) => void;
  /** Build output and sandbox log lines, for a verbose terminal. */
  onLine?: (line: string) => void;
  /** Progress always worth showing: a base image bootstrapped because no registry answers. */
  onProgress?: (line: string) => void;
  readyTimeoutMs?: number;
  /** `hardening.runtime` for the smoke's sandbox (`--runtime runsc`: check the gVisor tier). */
  runtime?: string;
}

const STEPS: readonly SmokeStepName[] = ["engine", "image", "sandbox", "prompt", "result"];

const FIXES: Record<SmokeStepName, string> = {
  engine: "Start a Docker engine or point DOCKER_HOST at one (see the README, Requirements).",
  image: "Run `ocbox image build` to see the whole build log.",
  sandbox:
    "Read the sandbox log above. `ocbox clean` removes leftovers; check the engine's free memory and disk.",
  prompt:
    "The server answered but the prompt failed: read the error above and the sandbox log (`--verbose`).",
  result:
    "The agent ran but its work did not arrive as expected: check that the workspace is on a local filesystem the engine can mount.",
};

/**
 * The step's fix for an error that brings none. The sandbox step's memory/disk advice fits only a
 * sandbox that would not start or get ready; any other error is told as itself.
 */
export function fixFor(name: SmokeStepName, code: string | undefined): string {
  if (name === "sandbox" && code !== "SANDBOX_START" && code !== "SANDBOX_NOT_READY")
    return "Read the error above; `ocbox smoke --verbose` shows the sandbox log, and `ocbox check` the engine.";
  return FIXES[name];
}

/** What the smoke steps share: the run's inputs and what each step leaves for the next. */
interface SmokeRun {
  engine: Engine;
  options: SmokeOptions;
  expected: string;
  workspace?: string;
  model?: ScriptedModel;
  sandbox?: StartedSandbox;
  finalText: string;
  images?: Awaited<ReturnType<typeof ensureImages>>;
}

export async function smoke(engine: Engine, options: SmokeOptions = {}): Promise<SmokeReport> {
  const started = performance.now();
  const steps: SmokeStep[] = [];
  const nonce = randomBytes(6).toString("hex");
  const run: SmokeRun = { engine, options, expected: `ocbox smoke ${nonce}\n`, finalText: "" };
  const step = (name: SmokeStepName, fn: (run: SmokeRun) => Promise<string>) =>
    runStep(name, () => fn(run), options, steps);
  try {
    let ok = await step("engine", engineStep);
    ok &&= await step("image", imageStep);
    ok &&= await step("sandbox", sandboxStep);
    ok &&= await step("prompt", promptStep);
    ok &&= await step("result", resultStep);
    void ok;
  } finally {
    await run.sandbox?.stop().catch(() => undefined);
    await run.model?.close().catch(() => undefined);
    if (run.workspace) await rm(run.workspace, { recursive: true, force: true }).catch(() => undefined);
  }

  for (const name of STEPS.slice(steps.length)) {
    const skipped: SmokeStep = {
      name,
      status: "skipped",
      seconds: 0,
      detail: "skipped after an earlier failure",
    };
    steps.push(skipped);
    options.onStep?.(skipped);
  }
  return { ok: steps.every((s) => s.status === "ok"), steps, seconds: (performance.now() - started) / 1000 };
}

/** Run one step, record it as ok or failed (with its fix); true when it passed. */
async function runStep(
  name: SmokeStepName,
  fn: () => Promise<string>,
  options: SmokeOptions,
  steps: SmokeStep[],
): Promise<boolean> {
  const t0 = performance.now();
  try {
    options.signal?.throwIfAborted();
    const detail = await fn();
    const done: SmokeStep = { name, status: "ok", seconds: (performance.now() - t0) / 1000, detail };
    steps.push(done);
    options.onStep?.(done);
    return true;
  } catch (e) {
    if (options.signal?.aborted)
      throw new OcboxError("INTERRUPTED", `smoke interrupted during the ${name} step`);
    const err = e instanceof OcboxError ? e : undefined;
    const failed: SmokeStep = {
      name,
      status: "failed",
      seconds: (performance.now() - t0) / 1000,
      detail: errorMessage(e),
      error: {
        code: err?.code ?? "UNEXPECTED",
        message: errorMessage(e),
        ...(err?.detail ? { detail: err.detail } : {}),
      },
      fix: err?.fix ?? fixFor(name, err?.code),
    };
    steps.push(failed);
    options.onStep?.(failed);
    return false;
  }
}

async function engineStep(run: SmokeRun): Promise<string> {
  const { engine } = run;
  const info = await engine.info();
  const reaped = await reap(engine);
  const leftovers = reaped.containers.length + reaped.volumes.length + reaped.runDirs.length;
  // Rootful Podman beside dockerd: builds and gateway networks would hang later; say it now.
  const forward = await podmanForwardProblem(info);
  if (forward) run.options.onProgress?.(`WARNING ${forward}\n${FORWARD_FIX}`);
  return `${info.flavour}${info.rootless ? " (rootless)" : ""} ${info.version} at ${info.endpoint}${leftovers ? `; removed ${leftovers} leftovers of dead runs` : ""}`;
}

async function imageStep(run: SmokeRun): Promise<string> {
  const { options } = run;
  const images = await ensureImages(run.engine, {
    ...options.image,
    ...(options.onLine ? { onLine: options.onLine } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  });
  run.images = images;
  const built = [images.sandbox, images.egress].filter((i) => i.built);
  return `${images.sandbox.tag} (opencode ${images.opencodeVersion})${built.length ? `, built ${built.map((b) => b.kind).join(" and ")}` : ", cached"}`;
}

/** The default project config, with `hardening.runtime` when the smoke checks a runtime. */
function smokeConfig(runtime: string | undefined) {
  const config = defaultProjectConfig();
  return runtime === undefined ? config : { ...config, hardening: { ...config.hardening, runtime } };
}

async function sandboxStep(run: SmokeRun): Promise<string> {
  const { images, options } = run;
  if (!images) throw new Error("no images");
  const workspace = await mkdtemp(join(tmpdir(), "ocbox-smoke-"));
  run.workspace = workspace;
  const model = await startScriptedModel({
    scenario: {
      turns: [
        {
          toolCalls: [
            { name: "write", arguments: { filePath: `${WORKSPACE}/smoke.txt`, content: run.expected } },
          ],
        },
        {
          text: `I wrote smoke.txt.\n\n\`\`\`json\n${JSON.stringify({ outcome: "COMPLETE", summary: "wrote smoke.txt" })}\n\`\`\``,
        },
      ],
    },
  });
  run.model = model;
  // The same planner as `ocbox run` (entry "run", no project config): the smoke proves the spec
  // a task gets, not one of its own. Only the scratch workspace, the model and the id are its own.
  const plan = await planTask({
    workspace,
    config: smokeConfig(options.runtime),
    opencodeConfig: scriptedOpencodeConfig(model.url),
    forwardPorts: [model.port],
    engine: run.engine,
    images,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const spec = specFor(plan.profile, workspace, "smoke");
  const sandbox = await startSandbox(
    run.engine,
    { ...spec, readyTimeoutMs: options.readyTimeoutMs ?? spec.readyTimeoutMs },
    {
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onLine ? { onLog: (line: string) => options.onLine?.(line) } : {}),
    },
  );
  run.sandbox = sandbox;
  const where =
    sandbox.transport === "exec" ? "over exec relays (engine connection)" : `at ${sandbox.server.url}`;
  return `ready in ${(sandbox.timings.healthyMs / 1000).toFixed(1)} s ${where}`;
}

async function promptStep(run: SmokeRun): Promise<string> {
  const { sandbox, model, options } = run;
  if (!sandbox || !model) throw new Error("no sandbox");
  const client = await sandbox.client();
  const sessionId = await newSession(client, "ocbox smoke");
  const outcome = await promptAndWait(client, {
    sessionId,
    text: "ocbox smoke: write smoke.txt, then answer with the Agent Contract.",
    ...(options.signal ? { signal: options.signal } : {}),
  });
  if (outcome.error) {
    throw new OcboxError(
      "OPENCODE",
      `the model call failed: ${outcome.error.name}: ${outcome.error.message}`,
      {
        detail: sandbox.recentLogs().slice(-20).join("\n"),
      },
    );
  }
  run.finalText = outcome.text;
  const turns = model.requests.filter((r) => r.answeredBy === "turn").length;
  return `session ${sessionId}, ${turns} model turns, ${outcome.tokens.input + outcome.tokens.output} tokens`;
}

async function resultStep(run: SmokeRun): Promise<string> {
  const { workspace, finalText } = run;
  if (!workspace) throw new Error("no workspace");
  // Stop first: a workspace lent to the agent user (ocbox as root) is given back on stop.
  await run.sandbox?.stop();
  const file = join(workspace, "smoke.txt");
  const content = await readFile(file, "utf8").catch(() => undefined);
  if (content !== run.expected) {
    throw new OcboxError(
      "CHECK_FAILED",
      content === undefined
        ? "the agent's file is not in the workspace"
        : "the agent's file has other content",
    );
  }
  const parsed = parseOutcome(finalText, baseContract);
  if (!parsed.ok) {
    throw new OcboxError(
      "CHECK_FAILED",
      `the agent's answer did not parse as an Agent Contract: ${parsed.message}`,
      {
        detail: finalText.slice(-2000),
      },
    );
  }
  if (parsed.contract.outcome !== "COMPLETE")
    throw new OcboxError("CHECK_FAILED", `the contract says ${parsed.contract.outcome}`);
  const owner = (await stat(file)).uid;
  const host = currentHostUser();
  if (owner !== host.uid)
    throw new OcboxError("CHECK_FAILED", `smoke.txt is owned by uid ${owner}, not by you (uid ${host.uid})`);
  return `smoke.txt written (owned by uid ${owner}); contract ${parsed.contract.outcome} via ${parsed.strategy}`;
}
