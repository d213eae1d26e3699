/**
 * Issue 15, items 3, 5, 7, 8, end to end with the built `ocbox`, the real engine, the real
 * opencode from the payload volume and the scripted model driving the agent's bash tool, on the
 * Harbor fixture set (test/fixtures/harbor-tasks, built on the bootstrap base from Debian's
 * packages): the agent works in the task's own image (a tool only that image has), /tests is
 * not there while it works, rewards 1 and 0 (and named rewards) come out right, a musl image
 * with no glibc runs, an interrupted run resumes across per-task images, and `--oracle` scores 1
 * on every task. Each unit's phases are timed. A Harbor unit exports its session; the files
 * under harbor/ parse as Harbor's models; `eval report` makes summary.json and harbor/ again, the
 * same as the run's.
 */
import {
  cpSync,
  existsSync,
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, expect, it } from "vitest";
import { scriptedOpencodeConfig } from "../../src/scripted-model/opencode-config.js";
import type { ScenarioInput } from "../../src/scripted-model/scenario.js";
import { startScriptedModel, type ScriptedModel } from "../../src/scripted-model/server.js";
import type { UnitRecord } from "../../src/eval/unit-record.js";
import { jobResultSchema, trialResultSchema } from "../../src/eval/harbor-result-schema.js";
import { ocbox, evalRunArgs } from "../helpers/cli.js";

const FIXTURES = resolve(import.meta.dirname, "../fixtures/harbor-tasks");
const root = mkdtempSync(join(tmpdir(), "ocbox-harbor-run-"));
const tasks = join(root, "tasks");
const env = { XDG_STATE_HOME: mkdtempSync(join(tmpdir(), "ocbox-state-")) };
let model: ScriptedModel;
let config: string;

const bash = (command: string) => ({ name: "bash", arguments: { command, description: "run it" } });
const done = (match: string) => ({ match, structured: { outcome: "COMPLETE", summary: "done" } });
const turns: ScenarioInput["turns"] = [
  {
    match: "harbor-hello",
    toolCalls: [
      bash(
        "{ test -e /tests && echo tests-visible || echo tests-absent; } > /logs/agent/probe.txt; harbor-hello > greeting.txt",
      ),
    ],
  },
  done("harbor-hello"),
  // The musl task, answered wrong on purpose: its reward must be 0.
  { match: "word `musl`", toolCalls: [bash("echo glibc > libc.txt; ls / > /logs/agent/root.txt")] },
  done("word `musl`"),
  { match: "number 42", toolCalls: [bash("echo 41 > answer.txt")] },
  done("number 42"),
];

const unitOf = (out: string, id: string) =>
  JSON.parse(readFileSync(join(out, "tasks", id, "r1", "unit.json"), "utf8")) as UnitRecord;

const readJson = (f: string): unknown => JSON.parse(readFileSync(f, "utf8"));

/** summary.json and every file and link under harbor/, as text (a link as its target). */
function snapshot(out: string): Record<string, string> {
  const files: Record<string, string> = { "summary.json": readFileSync(join(out, "summary.json"), "utf8") };
  const walk = (rel: string) => {
    for (const name of readdirSync(join(out, rel)).sort()) {
      const path = join(rel, name);
      const st = lstatSync(join(out, path));
      if (st.isSymbolicLink()) files[path] = `-> ${readlinkSync(join(out, path))}`;
      else if (st.isDirectory()) walk(path);
      else files[path] = readFileSync(join(out, path), "utf8");
    }
  };
  walk("harbor");
  return files;
}

beforeAll(async () => {
  cpSync(FIXTURES, tasks, { recursive: true });
  model = await startScriptedModel({ scenario: { turns } });
  config = join(root, "scripted.json");
  writeFileSync(config, JSON.stringify(scriptedOpencodeConfig(model.url)));
});

afterAll(async () => {
  await model?.close();
});

it("runs each Harbor task in its own image, then its verifier; an interrupted run resumes", async () => {
  const out = join(root, "out");
  // Under load (8 engineers on 2 cores) a task-image sandbox took up to 85 s to start: room for it.
  const args = [
    ...evalRunArgs({ tasks, output: out, config }),
    "--approve-config",
    "--timeout-multiplier",
    "3",
  ];
  // Interrupted once the first unit is written: it is kept, the other two run on resume.
  const first = ocbox(args, { env });
  const firstUnit = join(out, "tasks", "hello-tool", "r1", "unit.json");
  for (let i = 0; i < 2400 && !existsSync(firstUnit) && first.child.exitCode === null; i++) await sleep(250);
  first.child.kill("SIGINT");
  const stopped = await first;
  expect(existsSync(firstUnit), stopped.stderr).toBe(true);

  const r = await ocbox([...args, "--json"], { env });
  expect(r.code, r.stderr).toBe(0);
  const result = JSON.parse(r.stdout) as Record<string, unknown>;
  expect(result).toMatchObject({ units: 3, infraFailed: 0 });
  expect(result.kept).toBeGreaterThanOrEqual(1);

  const hello = unitOf(out, "hello-tool");
  expect(hello.verifier).toMatchObject({ reward: 1, rewards: { reward: 1 }, exitCode: 0 });
  // The agent worked in the image's WORKDIR with the image's own tool; /tests was not there yet.
  expect(readFileSync(join(out, "tasks", "hello-tool", "r1", "workspace", "greeting.txt"), "utf8")).toBe(
    "hello from the task image\n",
  );
  expect(readFileSync(join(out, "tasks", "hello-tool", "r1", "logs", "agent", "probe.txt"), "utf8")).toBe(
    "tests-absent\n",
  );
  expect(existsSync(join(out, "tasks", "hello-tool", "r1", "logs", "verifier", "reward.txt"))).toBe(true);
  expect(hello.timings?.agentSetup).toBeGreaterThan(0);
  expect(hello.timings?.agent).toBeGreaterThan(0);
  expect(hello.timings?.verifier).toBeGreaterThan(0);

  // musl: no glibc and no /lib64 in the image, yet the agent ran (its bash tool left its files).
  const musl = unitOf(out, "musl-tool");
  expect(musl.verifier).toMatchObject({ reward: 0, exitCode: 0 });
  expect(readFileSync(join(out, "tasks", "musl-tool", "r1", "workspace", "libc.txt"), "utf8")).toBe(
    "glibc\n",
  );
  expect(readFileSync(join(out, "tasks", "musl-tool", "r1", "logs", "agent", "root.txt"), "utf8")).toMatch(
    /^lib$/m,
  );

  // Root tasks (no [agent].user on a root image) are listed in the manifest and warned about.
  const manifest = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8")) as {
    taskWarnings?: Record<string, string[]>;
    tasks: Record<string, { metadata?: Record<string, unknown> }>;
  };
  // task.toml's [metadata] is kept in the results: the manifest and summary.json.
  expect(manifest.tasks["hello-tool"]?.metadata).toMatchObject({ difficulty: "easy", category: "fixture" });
  const summary = readJson(join(out, "summary.json")) as { tasks: Array<{ id: string; metadata?: unknown }> };
  expect(summary.tasks.find((t) => t.id === "hello-tool")?.metadata).toMatchObject({
    tags: ["tool", "workdir"],
  });
  expect(manifest.taskWarnings?.["hello-tool"]?.join("\n")).toMatch(
    /WARNING task\.root: the task runs as root/,
  );
  expect(r.stderr).toMatch(/task\.root/);

  const offline = unitOf(out, "offline");
  expect(offline.verifier).toMatchObject({ reward: 0, rewards: { reward: 0, exact: 0, exists: 1 } });

  // The agent's session, exported from its server in the task image before it was stopped.
  const session = JSON.parse(
    readFileSync(join(out, "tasks", "hello-tool", "r1", "session.json"), "utf8"),
  ) as {
    messages: Array<{
      parts: Array<{ type: string; tool?: string; state?: { input?: { command?: string } } }>;
    }>;
  };
  const calls = session.messages.flatMap((m) => m.parts).filter((p) => p.type === "tool");
  expect(calls.some((p) => p.tool === "bash" && p.state?.input?.command?.includes("harbor-hello"))).toBe(
    true,
  );
  expect(hello.session).toMatchObject({ file: "session.json" });
  expect(hello.session?.messages).toBeGreaterThan(0);
  const trialDir = join(out, "harbor", "hello-tool__r1");
  const trial = JSON.parse(readFileSync(join(trialDir, "result.json"), "utf8")) as Record<string, unknown>;
  expect(trial).toMatchObject({ agent_result: { metadata: { session: "session.json" } } });
  expect(readFileSync(join(trialDir, "session.json"), "utf8")).toBe(
    readFileSync(join(out, "tasks", "hello-tool", "r1", "session.json"), "utf8"),
  );
  expect(existsSync(join(trialDir, "verifier", "reward.txt"))).toBe(true);

  // What ocbox wrote under harbor/ parses as Harbor's TrialResult and JobResult.
  expect(jobResultSchema.safeParse(readJson(join(out, "harbor", "result.json"))).error?.issues ?? []).toEqual(
    [],
  );
  for (const name of ["hello-tool__r1", "musl-tool__r1", "offline__r1"]) {
    const parsed = trialResultSchema.safeParse(readJson(join(out, "harbor", name, "result.json")));
    expect(parsed.error?.issues ?? [], name).toEqual([]);
  }

  // `eval report` makes summary.json and harbor/ again from the unit records, the same as the run's.
  const before = snapshot(out);
  rmSync(join(out, "summary.json"));
  rmSync(join(out, "harbor"), { recursive: true });
  const report = await ocbox(["eval", "report", out, "--json"], { env });
  expect(report.code, report.stderr).toBe(0);
  expect(JSON.parse(report.stdout)).toMatchObject({ harbor: join(out, "harbor") });
  expect(snapshot(out)).toEqual(before);
});

it("--oracle runs solution/solve.sh in the agent's place, with no model: every task scores 1", async () => {
  const out = join(root, "oracle");
  const before = model.requests.length;
  const r = await ocbox(
    ["eval", "run", "--oracle", "--tasks", tasks, "--output", out, "--approve-config", "--json"],
    {
      env,
    },
  );
  expect(r.code, r.stderr).toBe(0);
  for (const id of ["hello-tool", "musl-tool", "offline"]) {
    const unit = unitOf(out, id);
    expect(unit, id).toMatchObject({ oracle: true, infra: false, verifier: { reward: 1 } });
    expect(unit.timings?.verifier).toBeGreaterThan(0);
  }
  expect(model.requests.length).toBe(before);
});

it("a hostile agent cannot forge its reward, plant the verifier, or carry a host file out by a link", async () => {
  const set = join(root, "forge-set");
  cpSync(join(FIXTURES, "hello-tool"), join(set, "forge"), { recursive: true });
  writeFileSync(join(set, "forge", "instruction.md"), "FORGE-REWARD: make greeting.txt.\n");
  // A verifier that writes a reward only on success (a common pattern): a reward left ahead
  // would stand.
  writeFileSync(
    join(set, "forge", "tests", "test.sh"),
    '#!/bin/bash\n[ "$(cat /app/greeting.txt)" = "hello from the task image" ] && echo 1 > /logs/verifier/reward.txt\nexit 0\n',
  );
  model.setScenario({
    turns: [
      {
        match: "FORGE-REWARD",
        toolCalls: [
          bash(
            [
              // A reward written ahead, a test.sh planted where the verifier's will go, and links
              // to files that exist only on the host side or only in the container.
              "mkdir -p /logs/verifier /tests && echo 1 > /logs/verifier/reward.txt",
              "printf 'echo 1 > /logs/verifier/reward.txt\\n' > /tests/test.sh; echo planted > /tests/extra.sh",
              `ln -s ${join(root, "scripted.json")} /logs/agent/host-link; ln -s /etc/shadow /logs/artifacts/shadow`,
              "ln -s /etc/passwd greeting.txt",
            ].join("; "),
          ),
        ],
      },
      done("FORGE-REWARD"),
    ],
  });
  const out = join(root, "forge-out");
  const r = await ocbox([...evalRunArgs({ tasks: set, output: out, config }), "--approve-config", "--json"], {
    env,
  });
  expect(r.code, r.stderr).toBe(0);
  const unit = unitOf(out, "forge");
  expect(unit.verifier).toMatchObject({ reward: null, exitCode: 0 });
  expect(unit.verifier?.problem).toContain(
    "the verifier wrote neither /logs/verifier/reward.txt nor reward.json",
  );
  const logs = join(out, "tasks", "forge", "r1", "logs");
  expect(existsSync(join(logs, "agent", "host-link"))).toBe(false);
  expect(existsSync(join(logs, "artifacts", "shadow"))).toBe(false);
  expect(existsSync(join(logs, "verifier", "reward.txt"))).toBe(false);
  expect(existsSync(join(out, "tasks", "forge", "r1", "workspace", "greeting.txt"))).toBe(false);
});
