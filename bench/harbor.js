// Scenario "harbor" (issue 15 item 8; only by name): the repo's Harbor task set
// (test/fixtures/harbor-tasks) run with the scripted model driving the agent's bash tool, and
// with --oracle, `rounds` repeats each, one worker. Per phase, from each unit.json's `timings`:
// environment build, agent setup (payload mount and the container up to a ready server), agent,
// verifier (the whole phase after the agent). An image already on the engine (same context
// hash) is not built again: its environment build is 0.
import { spawn } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { scriptedOpencodeConfig } from "../dist/scripted-model/opencode-config.js";
import { fmt, summary } from "./lib.js";

const ROOT = join(import.meta.dirname, "..");
const CLI = join(ROOT, "dist", "bin", "ocbox.js");
const FIXTURES = join(ROOT, "test", "fixtures", "harbor-tasks");

const bash = (command) => ({ name: "bash", arguments: { command, description: "run it" } });
const done = (match) => ({ match, structured: { outcome: "COMPLETE", summary: "done" } });
const TURNS = [
  { match: "harbor-hello", toolCalls: [bash("harbor-hello > greeting.txt")] },
  done("harbor-hello"),
  { match: "word `musl`", toolCalls: [bash("echo musl > libc.txt")] },
  done("word `musl`"),
  { match: "number 42", toolCalls: [bash("echo 42 > answer.txt")] },
  done("number 42"),
];
const PHASES = ["environmentBuild", "agentSetup", "agent", "verifier"];

/** The built ocbox, asynchronously: the scripted model answers from this same process. */
function ocbox(args, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, NO_COLOR: "1", ...env },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr = (stderr + d).slice(-4000)));
    child.on("close", (code) =>
      code === 0 ? resolve() : reject(new Error(`ocbox ${args.join(" ")} exited ${code}: ${stderr}`)),
    );
  });
}

/** Every unit's timings under `out`: { task: [{phase: seconds}] }. */
function timingsOf(out) {
  const byTask = {};
  for (const task of readdirSync(join(out, "tasks")))
    for (const unit of readdirSync(join(out, "tasks", task))) {
      const u = JSON.parse(readFileSync(join(out, "tasks", task, unit, "unit.json"), "utf8"));
      if (u.verifier?.reward !== 1) throw new Error(`${task}/${unit}: reward ${u.verifier?.reward}`);
      (byTask[task] ??= []).push(u.timings);
    }
  return byTask;
}

const perPhase = (units) =>
  Object.fromEntries(PHASES.map((p) => [p, summary(units.map((t) => Number(t[p] ?? 0)))]));

export async function benchHarbor(env, { rounds = 3 } = {}) {
  const root = mkdtempSync(join(tmpdir(), "ocbox-bench-harbor-"));
  const tasks = join(root, "tasks");
  cpSync(FIXTURES, tasks, { recursive: true });
  rmSync(join(tasks, "README.md"), { force: true });
  const state = { XDG_STATE_HOME: mkdtempSync(join(tmpdir(), "ocbox-bench-state-")) };
  env.model.setScenario({ turns: Array.from({ length: rounds }, () => TURNS).flat() });
  const config = join(root, "scripted.json");
  writeFileSync(config, JSON.stringify(scriptedOpencodeConfig(env.model.url)));
  const common = ["--tasks", tasks, "--repeat", String(rounds), "--workers", "1", "--approve-config"];
  const runs = {
    agent: [...common, "--model", "scripted/scripted", "--opencode-config", config],
    oracle: [...common, "--oracle"],
  };
  const result = { rounds };
  for (const [kind, args] of Object.entries(runs)) {
    const out = join(root, kind);
    await ocbox(["eval", "run", ...args, "--output", out], state);
    const byTask = timingsOf(out);
    result[kind] = Object.fromEntries(Object.entries(byTask).map(([t, units]) => [t, perPhase(units)]));
    for (const [task, phases] of Object.entries(result[kind]))
      for (const p of PHASES) console.log(`${kind} ${task} ${p}: ${fmt(phases[p])}`);
  }
  rmSync(root, { recursive: true, force: true });
  return result;
}
