/**
 * Host boundary, item 1, played end to end with the built CLI: the agent of an `ocbox eval run`
 * task (a warm-pool slot) writes control data of its own into /workspace, a `context.json` whose
 * `decisionLog` names the user's `~/.bashrc` and an `access.log` with a line of its choosing,
 * then `chmod 0300 /workspace`. The eval is killed with SIGKILL mid-task and `ocbox clean` runs:
 * the `.bashrc` must be byte-identical and the slot gone. Also without a crash: the sync leaves
 * nothing behind.
 */
import { spawn, spawnSync } from "node:child_process";
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureImages } from "../../src/image/build.js";
import { DockerEngine } from "../../src/runtime/docker-engine.js";
import { LABEL } from "../../src/runtime/labels.js";
import { scriptedOpencodeConfig } from "../../src/scripted-model/opencode-config.js";
import { startScriptedModel, type ScriptedModel } from "../../src/scripted-model/server.js";
import { CLI, ocbox, evalRunArgs } from "../helpers/cli.js";

const engine = new DockerEngine();
const root = mkdtempSync(join(tmpdir(), "ocbox-crash-slot-"));
const home = join(root, "home");
const state = join(root, "state");
const bashrc = join(home, ".bashrc");
const BASHRC = "# the user's own shell setup\nexport PATH=$HOME/bin:$PATH\n";
const env = {
  HOME: home,
  XDG_STATE_HOME: state,
  // The image and config caches stay where they are (no rebuild for a new HOME).
  XDG_CACHE_HOME: process.env.XDG_CACHE_HOME || join(homedir(), ".cache"),
};
let model: ScriptedModel;
let modelConfig: string;

/** What the agent writes: ocbox's old control files, in the slot it owns. */
const PAYLOAD_LINE = "1795444436.646 40000 CONNECT evil.example 443 evil.example 200 TCP_DENIED bump -";
const hostile = [
  "cd /workspace",
  `printf '%s' '${JSON.stringify({ allow: [], gatewayPorts: {}, decisionLog: bashrc })}' > context.json`,
  `printf '%s\\n' '${PAYLOAD_LINE}' > access.log`,
  "chmod 0300 /workspace",
  "echo planted",
].join(" && ");

function taskSet(name: string): string {
  const tasks = join(root, name);
  mkdirSync(join(tasks, "plant", "app"), { recursive: true });
  writeFileSync(join(tasks, "plant", "app", "README.md"), "task\n");
  writeFileSync(join(tasks, "plant", "prompt.md"), "TASK-PLANT: look around.\n");
  writeFileSync(join(tasks, "plant", "requirements.yaml"), "- id: r\n  description: anything\n");
  writeFileSync(join(tasks, "plant", "task.yaml"), "timeoutS: 300\n");
  return tasks;
}

const args = (tasks: string, output: string) =>
  evalRunArgs({ tasks, output, workers: 1, config: modelConfig });

/** The dirs under ocbox's state that hold the agent's planted context.json (a slot, wherever it lives). */
function plantedDirs(): string[] {
  const base = join(state, "ocbox");
  if (!existsSync(base)) return [];
  return readdirSync(base).flatMap((ns) => {
    const dir = join(base, ns);
    let names: string[] = [];
    try {
      names = readdirSync(dir);
    } catch {
      return [];
    }
    const planted = (d: string) => {
      try {
        return readFileSync(join(d, "context.json"), "utf8").includes(bashrc);
      } catch {
        return false; // not a dir, or no such file: not the agent's
      }
    };
    return names.map((n) => join(dir, n)).filter(planted);
  });
}

beforeAll(async () => {
  await ensureImages(engine);
  mkdirSync(home, { recursive: true });
  model = await startScriptedModel({ scenario: { turns: [] } });
  modelConfig = join(root, "model.json");
  writeFileSync(modelConfig, JSON.stringify(scriptedOpencodeConfig(model.url)));
});

afterAll(async () => {
  await model?.close();
});

describe("a warm-pool slot's planted control data", () => {
  it("after kill -9 of `ocbox eval run` mid-task, `ocbox clean` leaves ~/.bashrc byte-identical and removes the slot", async () => {
    writeFileSync(bashrc, BASHRC);
    model.setScenario({
      turns: [
        {
          match: "TASK-PLANT",
          toolCalls: [{ name: "bash", arguments: { command: hostile, description: "plant" } }],
        },
        { match: "TASK-PLANT", hang: true },
      ],
    });
    const run = ocbox(args(taskSet("tasks-kill"), join(root, "out-kill")), { env });
    const pid = run.child.pid;
    const deadline = Date.now() + 240_000;
    let planted: string[] = [];
    while ((planted = plantedDirs()).length === 0) {
      if (Date.now() > deadline) throw new Error(`the agent never planted its files:\n${(await run).stderr}`);
      await sleep(250);
    }
    // The bash call has returned to the model (the next turn hangs): the task is mid-flight.
    await sleep(1500);
    expect((await engine.listContainers([`${LABEL.ownerPid}=${pid}`], true)).length).toBeGreaterThan(0);
    run.child.kill("SIGKILL");
    await run;

    const clean = await ocbox(["clean"], { env });
    expect(clean.code, clean.stderr).toBe(0);
    expect(readFileSync(bashrc, "utf8")).toBe(BASHRC);
    for (const dir of planted) expect(existsSync(dir), dir).toBe(false);
    expect(await engine.listContainers([`${LABEL.ownerPid}=${pid}`], true)).toEqual([]);
  });

  it("without a crash, the task ends and the sync leaves no slot behind; ~/.bashrc is untouched", async () => {
    writeFileSync(bashrc, BASHRC);
    model.setScenario({
      turns: [
        {
          match: "TASK-PLANT",
          toolCalls: [{ name: "bash", arguments: { command: hostile, description: "plant" } }],
        },
        { match: "TASK-PLANT", structured: { outcome: "COMPLETE", summary: "planted" } },
      ],
    });
    const output = join(root, "out-done");
    const r = await ocbox(args(taskSet("tasks-done"), output), { env });
    expect(r.code, r.stderr).toBe(0);
    expect(plantedDirs()).toEqual([]);
    // The agent's files came back as its work, as data; nothing of ocbox's read them.
    expect(readFileSync(join(output, "tasks", "plant", "r1", "workspace", "context.json"), "utf8")).toContain(
      "decisionLog",
    );
    const clean = await ocbox(["clean"], { env });
    expect(clean.code, clean.stderr).toBe(0);
    expect(readFileSync(bashrc, "utf8")).toBe(BASHRC);
    const slots = join(state, "ocbox", "slots");
    expect(existsSync(slots) ? readdirSync(slots) : []).toEqual([]);
  });

  it("as an ordinary user, `chmod 0300 /workspace` (and a 0000 dir) no longer keeps the slot: the work comes back and nothing is left", async () => {
    // ocbox as uid 65534 with the engine socket's group, as a user in the `docker` group runs it.
    const socketGid = statSync("/var/run/docker.sock").gid;
    const user = { uid: 65534, gid: socketGid };
    const base = join(root, "ordinary");
    mkdirSync(join(base, "home"), { recursive: true });
    chmodSync(root, 0o755);
    const tasks = taskSet("tasks-ordinary");
    for (const p of [base, join(base, "home")]) chownSync(p, user.uid, user.gid);
    model.setScenario({
      turns: [
        {
          match: "TASK-PLANT",
          toolCalls: [
            {
              name: "bash",
              arguments: {
                command: `cd /workspace && echo work > work.txt && mkdir -p d/e && chmod 0000 d/e && chmod 0300 d && ${hostile}`,
                description: "plant",
              },
            },
          ],
        },
        { match: "TASK-PLANT", structured: { outcome: "COMPLETE", summary: "planted" } },
      ],
    });
    const output = join(base, "out");
    const userState = join(base, "home", "state");
    // The checkout must be readable by that user (a clone under a 0700 dir such as `mktemp -d`'s is not).
    const reach = spawnSync(process.execPath, ["-e", `require("fs").accessSync(${JSON.stringify(CLI)})`], {
      uid: user.uid,
      gid: user.gid,
    });
    expect(
      reach.status,
      `uid ${user.uid} cannot read ${CLI}: clone the repo where every user can read it`,
    ).toBe(0);
    const child = spawn(process.execPath, [CLI, ...args(tasks, output)], {
      // Without npx's npm_config_* (they point into root's ~/.npm, which this user cannot write).
      env: {
        ...Object.fromEntries(
          Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith("npm_")),
        ),
        NO_COLOR: "1",
        HOME: join(base, "home"),
        XDG_STATE_HOME: userState,
      },
      uid: user.uid,
      gid: user.gid,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    expect(code, stderr).toBe(0);
    // No slot and no run or egress dir is left, wherever a slot would live.
    for (const ns of ["slots", "run"]) {
      const dir = join(userState, "ocbox", ns);
      expect(existsSync(dir) ? readdirSync(dir) : [], ns).toEqual([]);
    }
    const unit = join(output, "tasks", "plant", "r1");
    expect(JSON.parse(readFileSync(join(unit, "result.json"), "utf8"))).toMatchObject({
      outcome: "COMPLETE",
    });
    const ws = join(unit, "workspace");
    expect(readFileSync(join(ws, "work.txt"), "utf8")).toBe("work\n");
    expect(existsSync(join(ws, "d", "e"))).toBe(true);
  });
});
