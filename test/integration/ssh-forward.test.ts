/**
 * Issue 14: with DOCKER_HOST=ssh://… (ocbox's OpenSSH forward, src/runtime/ssh-tunnel.ts), a
 * forward that dies is started again by the next engine call: in this process, and in the detached
 * relay of `ocbox up --detach`, whose reverse relays carry a host port back to the agent. Run by
 * the ssh leg (`.ci/leg-ssh`, which sets up an sshd of its own); the integration project includes
 * this file only when DOCKER_HOST is ssh:// (vitest.config.ts).
 */
import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, expect, it } from "vitest";
import { DockerEngine } from "../../src/runtime/docker-engine.js";
import { hostPortProject, type HostPortProject } from "../helpers/host-port-project.js";
import { type TestProject } from "../helpers/project.js";

if (!/^ssh:\/\//.test(process.env.DOCKER_HOST ?? ""))
  throw new Error(
    "ssh-forward.test.ts needs DOCKER_HOST=ssh://…: run it through `.ci/leg-ssh` (it starts an sshd)",
  );

let project: HostPortProject | undefined;
let p: TestProject;
let id = "";
let port = 0;
let secret = "";

/** The `ssh` processes forwarding for process `pid` (its child sh runs ssh: ssh-tunnel.ts). */
function forwardsOf(pid: number): number[] {
  const children = (args: string[]) => {
    try {
      return execFileSync("pgrep", args, { encoding: "utf8" }).trim().split("\n").filter(Boolean).map(Number);
    } catch (e) {
      if ((e as { status?: number }).status === 1) return []; // pgrep: none matched
      throw e;
    }
  };
  return children(["-P", String(pid), "-f", "ocbox-ssh"]).flatMap((sh) =>
    children(["-x", "-P", String(sh), "ssh"]),
  );
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ESRCH") return false;
    throw e;
  }
};

async function kill(pid: number): Promise<void> {
  process.kill(pid, "SIGKILL");
  while (alive(pid)) await new Promise((r) => setTimeout(r, 20));
}

beforeAll(async () => {
  project = await hostPortProject("ssh-forward");
  ({ p, id, port, secret } = project);
}, 120_000);

afterAll(async () => {
  await project?.close();
});

it("this process: the next engine call after its forward was killed starts a new one and answers", async () => {
  const engine = new DockerEngine();
  expect((await engine.info()).version).toBeTruthy();
  const [first, ...more] = forwardsOf(process.pid);
  expect(more).toEqual([]);
  await kill(first ?? 0);
  // At once (the wrapper's exit not seen yet), then again (info() is read once; ping() asks).
  await engine.ping();
  expect(await engine.containerState("ocbox-no-such-container")).toBeUndefined();
  const now = forwardsOf(process.pid);
  expect(now).toHaveLength(1);
  expect(now).not.toContain(first);
});

it("up --detach: the relay's forward killed, the agent still reaches the host port through it", async () => {
  const up = await p.run(["up", "--detach", "--approve-hook"]);
  expect(up.code, up.stderr).toBe(0);
  expect(up.stdout + up.stderr).toMatch(/relay: pid \d+/);
  const curl = () => p.run(["exec", "--", "curl", "-s", "-m", "20", `http://127.0.0.1:${port}/`]);
  const before = await curl();
  expect(before.stdout, before.stderr).toBe(`host says ${secret}\n`);
  const ls = await p.run(["ls", "--json"]);
  const row = (JSON.parse(ls.stdout) as Array<{ sandboxId: string; relayPid?: number }>).find(
    (r) => r.sandboxId === id,
  );
  const relay = row?.relayPid ?? 0;
  const [forward] = forwardsOf(relay);
  expect(forward, `no ssh forward under the relay ${relay}`).toBeGreaterThan(0);
  await kill(forward ?? 0);

  // The relay lives on with a new forward, and the host port answers the agent again.
  let after = await curl();
  for (let i = 0; i < 20 && after.stdout !== `host says ${secret}\n`; i++) {
    await new Promise((r) => setTimeout(r, 500));
    after = await curl();
  }
  expect(after.stdout, after.stderr).toBe(`host says ${secret}\n`);
  expect(alive(relay)).toBe(true);
  expect(forwardsOf(relay)).toHaveLength(1);
  expect(forwardsOf(relay)).not.toContain(forward);
  const status = await p.run(["ls", "--json"]);
  expect(JSON.parse(status.stdout)).toEqual(
    expect.arrayContaining([expect.objectContaining({ sandboxId: id, relay: "running", relayPid: relay })]),
  );
});
