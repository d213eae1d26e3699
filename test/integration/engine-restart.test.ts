/**
 * Issue 17, failure 9: the engine restarts in the middle of `ocbox eval run` with tasks in
 * flight. Played on a dockerd of the test's own (test/helpers/test-dockerd.ts), never the shared
 * one: two units hang in their model calls, the daemon is stopped and started again as a service
 * restart does, and the run must end both units as INFRASTRUCTURE within RESTART_BOUND_S, exit,
 * leave nothing on the engine once the next command has run, and resume those units cleanly.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import Docker from "dockerode";
import { afterAll, beforeAll, expect, it } from "vitest";
import { ensureImages } from "../../src/image/build.js";
import { LABEL } from "../../src/runtime/labels.js";
import { scriptedOpencodeConfig } from "../../src/scripted-model/opencode-config.js";
import { startScriptedModel, type ScriptedModel } from "../../src/scripted-model/server.js";
import { evalRunArgs, ocbox } from "../helpers/cli.js";
import { engine } from "../helpers/project.js";
import { TEST_DOCKERD, copyImages, startTestDockerd, type TestDockerd } from "../helpers/test-dockerd.js";

/**
 * What README says: a run ends its in-flight units this soon after the engine comes back. Measured
 * on Docker 20.10: the units end while the daemon stops (its shutdown stops their containers).
 */
const RESTART_BOUND_S = 45;

const root = mkdtempSync(join(tmpdir(), "ocbox-engine-restart-"));
const tasks = join(root, "tasks");
const output = join(root, "out");
const env = { XDG_STATE_HOME: join(root, "state"), DOCKER_HOST: TEST_DOCKERD.host };
let dockerd: TestDockerd;
let solver: ScriptedModel;
let config: string;

const ocboxOf = async (docker: Docker) => ({
  containers: (await docker.listContainers({ all: true, filters: { label: [`${LABEL.managed}=true`] } }))
    .length,
  volumes: ((await docker.listVolumes({ filters: { label: [`${LABEL.managed}=true`] } })).Volumes ?? [])
    .length,
});

beforeAll(async () => {
  const images = await ensureImages(engine);
  dockerd = await startTestDockerd();
  await copyImages(new Docker({ socketPath: "/var/run/docker.sock" }), dockerd.docker, [
    images.base,
    images.sandbox.tag,
    images.egress.tag,
  ]);
  for (const id of ["one", "two"]) {
    mkdirSync(join(tasks, id, "app"), { recursive: true });
    writeFileSync(join(tasks, id, "app", "README.md"), `task ${id}\n`);
    writeFileSync(join(tasks, id, "prompt.md"), `TASK-${id.toUpperCase()}: answer.\n`);
    writeFileSync(join(tasks, id, "requirements.yaml"), "- id: r1\n  description: answered\n");
  }
  // Both units hang in their model call: the agent is in flight when the engine goes.
  solver = await startScriptedModel({
    scenario: {
      turns: [
        { match: "TASK-ONE", hang: true },
        { match: "TASK-TWO", hang: true },
      ],
    },
  });
  config = join(root, "solver.json");
  writeFileSync(config, JSON.stringify(scriptedOpencodeConfig(solver.url)));
});

afterAll(async () => {
  await solver?.close();
  // The sidecar's network goes with the test engine, so that its bridge (and its route) does not
  // outlive that engine beside the shared one.
  for (const n of (await dockerd?.docker.listNetworks({ filters: { name: ["ocbox-egress"] } })) ?? [])
    await dockerd?.docker
      .getNetwork(n.Id)
      .remove()
      .catch(() => undefined);
  await dockerd?.stop();
  rmSync(root, { recursive: true, force: true });
});

it("an engine restart mid-run ends the units in flight as INFRASTRUCTURE, leaves nothing, and resumes", async () => {
  const run = ocbox(evalRunArgs({ tasks, output, config, workers: 2 }, "--json"), { env });
  // Both agents are asking the model: the units are in flight.
  const end = Date.now() + 240_000;
  while (solver.requests.filter((r) => r.answeredBy === "turn").length < 2) {
    if (Date.now() > end) throw new Error(`the units never reached the model: ${JSON.stringify(await run)}`);
    await sleep(500);
  }
  const stopped = Date.now();
  await dockerd.stop();
  await dockerd.start();
  const back = Date.now();
  const r = await run;
  const seconds = (Date.now() - back) / 1000;
  console.log(
    `engine restart: down ${((back - stopped) / 1000).toFixed(1)} s; the run ended ${((Date.now() - stopped) / 1000).toFixed(1)} s after the stop, ${seconds.toFixed(1)} s after the engine was back`,
  );
  expect(seconds, r.stderr).toBeLessThan(RESTART_BOUND_S);
  expect(r.code, r.stderr).toBe(0);
  const result = JSON.parse(r.stdout) as { infraFailed: number; completed: number };
  expect(result).toMatchObject({ infraFailed: 2, completed: 0 });
  for (const id of ["one", "two"]) {
    const unit = JSON.parse(readFileSync(join(output, "tasks", id, "r1", "result.json"), "utf8")) as {
      failureReason: string;
    };
    expect(unit.failureReason).toBe("INFRASTRUCTURE");
  }

  // The next command (here `ocbox clean`, on the test's own engine) leaves nothing behind.
  const clean = await ocbox(["clean", "--json"], { env });
  expect(clean.code, clean.stderr).toBe(0);
  expect(await ocboxOf(dockerd.docker)).toEqual({ containers: 0, volumes: 0 });

  // Resume: the infrastructure failures rerun and complete.
  solver.setScenario({
    turns: [
      { match: "TASK-ONE", structured: { outcome: "COMPLETE", summary: "one" } },
      { match: "TASK-TWO", structured: { outcome: "COMPLETE", summary: "two" } },
    ],
  });
  const again = await ocbox(
    evalRunArgs({ tasks, output, config, workers: 2 }, "--json", "--retry-failed", "infra"),
    { env },
  );
  expect(again.code, again.stderr).toBe(0);
  expect(JSON.parse(again.stdout)).toMatchObject({ completed: 2, infraFailed: 0, ran: 2 });
  expect(await ocboxOf(dockerd.docker)).toEqual({ containers: 0, volumes: 0 });
});
