/**
 * Issue 17, failure 3: `ocbox exec` forwards stdin as `docker exec -i` does, streams the output,
 * passes the exit code through, and gives an interactive terminal a TTY. Through the built CLI
 * against a real `ocbox up --detach` sandbox.
 */
import { spawn, spawnSync } from "node:child_process";
import { randomBytes, createHash } from "node:crypto";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startScriptedModel, type ScriptedModel } from "../../src/scripted-model/server.js";
import { CLI } from "../helpers/cli.js";
import {
  containersOf,
  makeProject,
  removeHome,
  tempHome,
  useScriptedModel,
  type TestProject,
} from "../helpers/project.js";

let model: ScriptedModel;
let home: string;
let p: TestProject;
let id: string;

beforeAll(async () => {
  model = await startScriptedModel({ scenario: { models: ["scripted"], turns: [] } });
  home = await tempHome();
  p = await makeProject(home, "exec-stdin");
  const init = await p.run(["init", "--yes", "--json"]);
  expect(init.code, init.stderr).toBe(0);
  await useScriptedModel(p, model.url);
  id = await p.sandboxId();
  const up = await p.run(["up", "--detach", "--approve-hook"]);
  expect(up.code, up.stderr).toBe(0);
}, 180_000);

afterAll(async () => {
  await p?.run(["down"]);
  if (id) expect(await containersOf([id])).toEqual([]);
  await model?.close();
  await removeHome(home);
});

/** `ocbox exec ARGS` with `input` piped into its stdin; stdout as bytes. */
function exec(args: string[], input: Buffer | string) {
  const child = spawn(process.execPath, [CLI, "exec", ...args], {
    cwd: p.root,
    env: { ...process.env, ...p.env, NO_COLOR: "1" },
    stdio: ["pipe", "pipe", "pipe"],
  });
  const out: Buffer[] = [];
  let stderr = "";
  const firstOutput: number[] = [];
  child.stdout.on("data", (d: Buffer) => {
    firstOutput.push(performance.now());
    out.push(d);
  });
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  child.stdin.end(input);
  const started = performance.now();
  return new Promise<{ code: number | null; stdout: Buffer; stderr: string; firstOutputS: number }>(
    (resolve) =>
      child.on("close", (code) =>
        resolve({
          code,
          stdout: Buffer.concat(out),
          stderr,
          firstOutputS: ((firstOutput[0] ?? Infinity) - started) / 1000,
        }),
      ),
  );
}

it("echo 'echo hi' | ocbox exec -- bash -s prints hi and exits 0", async () => {
  const r = await exec(["--", "bash", "-s"], "echo hi\n");
  expect(r.stderr).toBe("");
  expect(r.stdout.toString()).toBe("hi\n");
  expect(r.code).toBe(0);
});

it("5 MB of stdin round-trips through cat byte for byte", async () => {
  const data = randomBytes(5 * 1024 * 1024);
  const r = await exec(["--", "cat"], data);
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout.length).toBe(data.length);
  expect(createHash("sha256").update(r.stdout).digest("hex")).toBe(
    createHash("sha256").update(data).digest("hex"),
  );
});

it("exit codes and stderr pass through; output streams before the command ends", async () => {
  const failing = await exec(["--", "sh", "-c", "echo out; echo err >&2; exit 7"], "");
  expect(failing.code).toBe(7);
  expect(failing.stdout.toString()).toBe("out\n");
  expect(failing.stderr).toBe("err\n");
  const stdinCode = await exec(["--", "sh", "-s"], "exit 3\n");
  expect(stdinCode.code).toBe(3);
  // The first line arrives while the command still sleeps, not buffered to the end.
  const started = performance.now();
  const slow = await exec(["--", "sh", "-c", "echo early; sleep 3; echo late"], "");
  const total = (performance.now() - started) / 1000;
  expect(slow.stdout.toString()).toBe("early\nlate\n");
  expect(slow.firstOutputS).toBeLessThan(total - 2);
});

it("an interactive terminal gets a TTY of its size, resized with it; -T or a pipe gets none", () => {
  const cli = `${process.execPath} ${CLI}`;
  const env = { ...process.env, ...p.env, NO_COLOR: "1" };
  // `script` gives the CLI a pseudo-terminal for stdin and stdout, as a person's terminal would.
  const inTty = spawnSync(
    "script",
    // The size is read after a moment: Docker 20.10 (API 1.41) sets it by a resize after the
    // start, which a command that reads it at once can beat, as with `docker exec -it`.
    ["-qec", `stty rows 33 cols 101; ${cli} exec -- sh -c 'sleep 1; tty; stty size; exit 4'`, "/dev/null"],
    { cwd: p.root, env, encoding: "utf8", input: "", timeout: 60_000 },
  );
  expect(inTty.stdout).toMatch(/\/dev\/pts\/\d+/);
  expect(inTty.stdout).toMatch(/33 101/);
  expect(inTty.status).toBe(4);
  // The terminal is resized while the command runs: the command's TTY follows.
  const resized = spawnSync(
    "script",
    [
      "-qec",
      // The resize comes 5 s after the CLI starts and the command reads its size 1 s and 9 s
      // after its own start: margins wide enough for a loaded machine (a 2 s gap was beaten).
      `stty rows 33 cols 101; (sleep 5; stty -F /dev/tty rows 50 cols 132) & ${cli} exec -- sh -c 'sleep 1; stty size; sleep 8; stty size'`,
      "/dev/null",
    ],
    { cwd: p.root, env, encoding: "utf8", input: "", timeout: 60_000 },
  );
  expect(resized.stdout).toMatch(/33 101[\s\S]*50 132/);
  const noTty = spawnSync("script", ["-qec", `${cli} exec -T -- sh -c 'tty; exit 0'`, "/dev/null"], {
    cwd: p.root,
    env,
    encoding: "utf8",
    input: "",
    timeout: 60_000,
  });
  expect(noTty.stdout).toMatch(/not a tty/);
});
