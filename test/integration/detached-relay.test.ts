/**
 * Issue 14: relays that outlive the CLI. `ocbox up --detach` with the exec transport exits; the
 * agent still reaches a host port of this machine (through the detached relay, over the engine
 * connection), `ocbox web --print`'s link answers, `ocbox ls` shows the relay, a relay that was
 * killed is started again by `ocbox web`, and `ocbox down` leaves no relay process.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { ocbox } from "../helpers/cli.js";
import { hostPortProject, type HostPortProject } from "../helpers/host-port-project.js";
import { type TestProject } from "../helpers/project.js";

const EXEC = { OCBOX_SERVER_TRANSPORT: "exec" };
let project: HostPortProject | undefined;
let p: TestProject;
let id = "";
let port = 0;
let secret = "";

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== "ESRCH";
  }
};

beforeAll(async () => {
  project = await hostPortProject("detached-relay");
  ({ p, id, port, secret } = project);
}, 120_000);

afterAll(async () => {
  await project?.close();
});

type LsRow = { sandboxId: string; relay?: string; relayPid?: number };
async function relayOfLs(): Promise<LsRow | undefined> {
  const ls = await p.run(["ls", "--json"], EXEC);
  expect(ls.code, ls.stderr).toBe(0);
  return (JSON.parse(ls.stdout) as LsRow[]).find((r) => r.sandboxId === id);
}

/** The host port, from inside the agent's container (as the agent would reach it). */
const curlHost = () => p.run(["exec", "--", "curl", "-s", "-m", "20", `http://127.0.0.1:${port}/`], EXEC);

/** `ocbox web --print` until its link is printed; the link must answer; then Ctrl+C. */
async function webAnswers(): Promise<void> {
  const web = ocbox(["web", "--print"], { cwd: p.root, env: { ...p.env, ...EXEC } });
  let out = "";
  const link = await new Promise<string>((resolve, reject) => {
    web.child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /http:\/\/127\.0\.0\.1:\d+\/\S+/.exec(out);
      if (m) resolve(m[0]);
    });
    void web.then((r) => reject(new Error(`ocbox web ended: ${r.code}\n${r.stderr}`)));
  });
  try {
    const login = await fetch(link, { redirect: "manual" });
    expect(login.status).toBe(303);
    const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
    const page = await fetch(new URL("/", link), { headers: { cookie, accept: "text/html" } });
    expect(page.status).toBe(200);
  } finally {
    web.child.kill("SIGINT");
    await web;
  }
}

it("up --detach with exec relays: the CLI exits, the relay carries the host port, web answers, down stops it", async () => {
  const up = await p.run(["up", "--detach", "--approve-hook"], EXEC);
  expect(up.code, up.stderr).toBe(0);
  // The `up` process is gone; the agent reaches this machine's port all the same.
  const first = await curlHost();
  expect(first.stdout, first.stderr).toBe(`host says ${secret}\n`);
  expect(up.stdout + up.stderr).toMatch(/relay: pid \d+/);

  const row = await relayOfLs();
  expect(row?.relay).toBe("running");
  const pid = row?.relayPid ?? 0;
  expect(alive(pid)).toBe(true);
  await webAnswers();

  // A relay that died (killed here) shows as gone, and `ocbox web` starts it again.
  process.kill(pid, "SIGKILL");
  while (alive(pid)) await new Promise((r) => setTimeout(r, 50));
  expect((await relayOfLs())?.relay).toBe("gone");
  await webAnswers();
  const again = await relayOfLs();
  expect(again?.relay).toBe("running");
  expect(again?.relayPid).not.toBe(pid);
  const second = await curlHost();
  expect(second.stdout, second.stderr).toBe(`host says ${secret}\n`);

  const down = await p.run(["down"], EXEC);
  expect(down.code, down.stderr).toBe(0);
  expect(alive(again?.relayPid ?? 0)).toBe(false);
  expect(existsSync(join(await p.stateDir(), "relay.json"))).toBe(false);
});
