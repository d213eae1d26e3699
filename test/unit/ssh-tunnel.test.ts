/**
 * Issue 14: a dead ssh forward is started again by the next engine call. No Docker and no sshd:
 * a fake `ssh` on PATH forwards `-L LOCAL:REMOTE` to a fake engine (an HTTP server on a Unix
 * socket) and writes its pid, so the test can kill it as a user (or a dropped link) would.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { OcboxError } from "../../src/errors.js";
import { askPerRequest, chooseEndpoint, engineConnection } from "../../src/runtime/connect.js";
import { DockerEngine } from "../../src/runtime/docker-engine.js";

// The fake ssh: `-L local:remote` as a Unix-socket forward; exits 255 "Permission denied" when
// the file `refuse` exists beside it.
const FAKE_SSH = (dir: string) => `#!${process.execPath}
const fs = require("node:fs"), net = require("node:net"), path = require("node:path");
const dir = ${JSON.stringify(dir)};
if (fs.existsSync(path.join(dir, "refuse"))) { console.error("me@box: Permission denied (publickey)."); process.exit(255); }
const spec = process.argv[process.argv.indexOf("-L") + 1];
const [local, remote] = spec.split(":");
fs.appendFileSync(path.join(dir, "pids"), process.pid + "\\n");
net.createServer((c) => { const r = net.connect(remote); c.pipe(r).pipe(c); r.on("error", () => c.destroy()); c.on("error", () => r.destroy()); }).listen(local);
`;

let dir: string;
let engine: Server;
let env: NodeJS.ProcessEnv;
let versions = 0;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "ocbox-ssh-tunnel-"));
  writeFileSync(join(dir, "ssh"), FAKE_SSH(dir));
  chmodSync(join(dir, "ssh"), 0o755);
  engine = createServer((req, res) => {
    versions++;
    res.setHeader("content-type", "application/json");
    res.end(
      JSON.stringify({
        Version: "20.10.24",
        ApiVersion: "1.41",
        State: { Running: true, ExitCode: 0 },
        path: req.url,
      }),
    );
  });
  await new Promise<void>((r) => engine.listen(join(dir, "engine.sock"), r));
  env = {
    ...process.env,
    PATH: `${dir}:${process.env.PATH ?? ""}`,
    DOCKER_HOST: `ssh://me@box${dir}/engine.sock`,
  };
  delete env.OCBOX_SSH_CONFIG;
});

afterAll(async () => {
  await new Promise((r) => engine.close(r));
  rmSync(dir, { recursive: true, force: true });
});

const pids = () => readFileSync(join(dir, "pids"), "utf8").trim().split("\n").map(Number);
const gone = async (pid: number) => {
  for (;;) {
    try {
      process.kill(pid, 0);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ESRCH") return;
      throw e;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
};

it("a killed forward is started again by the next call; one that cannot start says ssh's reason", async () => {
  const { docker, failure } = engineConnection(chooseEndpoint(env), env);
  expect((await docker.version()).Version).toBe("20.10.24");
  const [first] = pids();
  expect(first).toBeGreaterThan(0);
  await docker.version(); // a live forward is reused, not started again
  expect(pids()).toHaveLength(1);

  process.kill(first ?? 0, "SIGKILL");
  await gone(first ?? 0);
  await new Promise((r) => setTimeout(r, 100)); // the wrapper's exit reaches this process
  expect((await docker.version()).Version).toBe("20.10.24");
  expect(pids()).toHaveLength(2);
  expect(versions).toBe(3);

  // Killed again, and now ssh is refused: the call fails at once with ssh's reason and its fix.
  const [, second] = pids();
  writeFileSync(join(dir, "refuse"), "");
  process.kill(second ?? 0, "SIGKILL");
  await gone(second ?? 0);
  await new Promise((r) => setTimeout(r, 100));
  await expect(docker.version()).rejects.toThrow();
  const why = failure();
  expect(why).toBeInstanceOf(OcboxError);
  expect(why?.message).toMatch(/ssh to the engine at ssh:\/\/me@box.* failed \(exit 255\)/);
  expect(why?.fix).toMatch(/ssh-agent/);
  rmSync(join(dir, "refuse"));
  // Once ssh works again, so does the next call.
  expect((await docker.version()).Version).toBe("20.10.24");
  expect(failure()).toBeUndefined();
}, 30_000);

it("a call made the moment the forward dies (its exit not seen yet) is sent again over a new forward", async () => {
  const engine = new DockerEngine(env);
  expect(await engine.containerState("c1")).toMatchObject({ running: true });
  const before = pids().length;
  for (let i = 0; i < 3; i++) {
    const pid = pids().at(-1) ?? 0;
    process.kill(pid, "SIGKILL");
    await gone(pid); // no wait for the wrapper: the next call races its exit
    expect(await engine.containerState("c1")).toMatchObject({ running: true });
  }
  expect(pids().length).toBe(before + 3);
}, 30_000);

it("a docker-modem without the getSocketPath hook is refused with a typed error, not ignored", async () => {
  const modem = { getSocketPath: () => Promise.resolve("/old"), socketPathCache: "/old" };
  askPerRequest(modem, () => Promise.resolve("/new"));
  await expect(modem.getSocketPath()).resolves.toBe("/new");
  expect(() => askPerRequest({} as never, () => Promise.resolve("/x"))).toThrow(OcboxError);
});
