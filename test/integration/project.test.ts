/**
 * The project sandbox as a person uses it, through the built `ocbox`: init, up --detach, ls, a
 * prompt through the server (scripted model), down, in two projects at once; sessions survive
 * down/up; env rules; per-container auth.json; hook approval. Real engine, image and opencode.
 */
import { existsSync } from "node:fs";
import { readFile, readdir, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { DockerEngine } from "../../src/runtime/docker-engine.js";
import { startScriptedModel, type ScriptedModel } from "../../src/scripted-model/server.js";
import {
  containersOf,
  makeProject,
  removeHome,
  serverClient,
  tempHome,
  useScriptedModel,
  type TestProject,
} from "../helpers/project.js";

let model: ScriptedModel;
let home: string;
const created: TestProject[] = [];
const ids: string[] = [];

beforeAll(async () => {
  model = await startScriptedModel({
    scenario: {
      models: ["scripted"],
      turns: Array.from({ length: 10 }, (_, i) => [
        { match: "alpha-prompt", text: `alpha answer ${i}` },
        { match: "beta-prompt", text: `beta answer ${i}` },
      ]).flat(),
      side: [{ match: "title", text: "a title" }],
    },
  });
  home = await tempHome();
});

afterEach(async () => {
  for (const p of created.splice(0)) await p.run(["down"]);
  expect(await containersOf(ids)).toEqual([]);
});

afterAll(async () => {
  await model?.close();
  await removeHome(home);
});

async function project(name: string): Promise<TestProject> {
  const p = await makeProject(home, name);
  const init = await p.run(["init", "--yes", "--json"]);
  expect(init.code, init.stderr).toBe(0);
  await useScriptedModel(p, model.url);
  ids.push(await p.sandboxId());
  return p;
}

async function up(p: TestProject, args: string[] = [], env: NodeJS.ProcessEnv = {}) {
  const r = await p.run(["up", "--detach", "--approve-hook", ...args], env);
  expect(r.code, r.stderr).toBe(0);
  created.push(p);
  return r;
}

interface Row {
  sandboxId: string;
  url: string;
  project: string;
  state: string;
}

async function prompt(p: TestProject, text: string) {
  const status = JSON.parse((await p.run(["status", "--json"])).stdout) as { sandbox: Row };
  const client = serverClient(status.sandbox.url, await p.password());
  const session = await client.session.create({ title: text });
  const sessionID = session.data?.id as string;
  const reply = await client.session.prompt({ sessionID, parts: [{ type: "text", text }] });
  const parts = reply.data?.parts ?? [];
  return { sessionID, client, text: parts.map((x) => (x.type === "text" ? x.text : "")).join("") };
}

it("two projects at once: init, up --detach, ls, a prompt, down; sessions survive down and up", async () => {
  const [a, b] = await Promise.all([project("alpha"), project("beta")]);
  await Promise.all([up(a), up(b)]);

  // Every command works from a subfolder; ls lists both with their own ports.
  const ls = await a.run(["ls", "--json"]);
  const rows = JSON.parse(ls.stdout) as Row[];
  const mine = rows.filter((r) => ids.includes(r.sandboxId));
  expect(mine.map((r) => r.project).sort()).toEqual([a.root, b.root].sort());
  expect(new Set(mine.map((r) => r.url)).size).toBe(2);
  const human = await a.run(["ls"]);
  expect(human.stdout).toMatch(/SANDBOX\s+URL\s+STATE\s+UPTIME\s+PROJECT/);

  const [ra, rb] = await Promise.all([prompt(a, "alpha-prompt"), prompt(b, "beta-prompt")]);
  expect(ra.text).toMatch(/^alpha answer/);
  expect(rb.text).toMatch(/^beta answer/);

  // up again while it runs: reattach, not a second sandbox.
  const again = await a.run(["up", "--detach", "--json"]);
  expect(JSON.parse(again.stdout)).toMatchObject({ status: "already-running" });

  const down = await a.run(["down", "--json"]);
  expect(down.code, down.stderr).toBe(0);
  expect((await a.run(["status"])).code).toBe(1);
  const passwordBefore = await a.password();

  await up(a);
  const status = JSON.parse((await a.run(["status", "--json"])).stdout) as { sandbox: Row };
  const client = serverClient(status.sandbox.url, await a.password());
  const sessions = await client.session.list();
  expect(sessions.data?.map((s) => s.id)).toContain(ra.sessionID);
  const messages = await client.session.messages({ sessionID: ra.sessionID });
  expect(JSON.stringify(messages.data)).toContain("alpha answer");
  expect(await a.password()).toBe(passwordBefore);
  expect((await stat(join(await a.stateDir(), "password"))).mode & 0o777).toBe(0o600);
});

it("down from another state dir than up's removes everything, keeps the log there and exits 0", async () => {
  const p = await project("otherstate");
  await up(p);
  const elsewhere = join(home, "other-state");
  const down = await p.run(["down", "--json"], { XDG_STATE_HOME: elsewhere });
  expect(down.code, down.stderr).toBe(0);
  expect(down.stderr).not.toMatch(/could not be removed/);
  const left = await new DockerEngine().listContainers([`dev.ocbox.sandbox=${await p.sandboxId()}`], true);
  expect(left).toEqual([]);
  const logs = await readdir(join(elsewhere, "ocbox", "sandboxes", await p.sandboxId(), "logs"));
  expect(logs.some((f) => f.endsWith(".log"))).toBe(true);
});

it("a host variable no rule names is absent inside, /proc/1/environ included; the summary shows names only", async () => {
  const p = await project("envcheck");
  const env = { UNMATCHED_HOST_SECRET: "do-not-leak-4711", OPENAI_API_KEY: "sk-test-value-0815" };
  const r = await up(p, [], env);
  expect(r.stdout).toMatch(/env\s+OPENAI_API_KEY/);
  expect(r.stderr + r.stdout).not.toContain("sk-test-value-0815");
  const inside = await p.run(["exec", "--", "sh", "-c", "env; tr '\\0' '\\n' </proc/1/environ; id -u"]);
  expect(inside.code, inside.stderr).toBe(0);
  expect(inside.stdout).toContain("OPENAI_API_KEY=sk-test-value-0815");
  expect(inside.stdout).not.toContain("UNMATCHED_HOST_SECRET");
  expect(inside.stdout).not.toContain("do-not-leak-4711");
  expect(inside.stdout.trim().split("\n").at(-1)).not.toBe("0");
});

it("concurrent sandboxes each get their own auth.json copy and never change the host file", async () => {
  const [a, b] = await Promise.all([project("auth-a"), project("auth-b")]);
  const hostAuth = join(a.env.XDG_DATA_HOME as string, "opencode", "auth.json");
  const { mkdir } = await import("node:fs/promises");
  await mkdir(join(a.env.XDG_DATA_HOME as string, "opencode"), { recursive: true });
  // The project uses provider `local` (ocbox.yaml's model); `openai` is the host's, unused here.
  const hostContent = '{"local":{"type":"api","key":"host-key"},"openai":{"type":"api","key":"unused-key"}}';
  await writeFile(hostAuth, hostContent, { mode: 0o600 });
  const content = JSON.stringify({ local: { type: "api", key: "host-key" } }, null, 2);
  const before = await stat(hostAuth);
  await Promise.all([up(a), up(b)]);

  const read = "cat ~/.local/share/opencode/auth.json; echo; stat -L -c %a ~/.local/share/opencode/auth.json";
  expect((await a.run(["exec", "--", "sh", "-c", read])).stdout).toBe(`${content}\n600\n`);
  const write = await a.run([
    "exec",
    "--",
    "sh",
    "-c",
    `echo '{"tampered":1}' > ~/.local/share/opencode/auth.json`,
  ]);
  expect(write.code, write.stderr).toBe(0);
  expect((await b.run(["exec", "--", "sh", "-c", read])).stdout).toBe(`${content}\n600\n`);
  expect(await readFile(hostAuth, "utf8")).toBe(hostContent);
  const after = await stat(hostAuth);
  expect(after.mtimeMs).toBe(before.mtimeMs);

  // The copy lives in the container's own run volume (no host dir) and goes with the container.
  const engine = new DockerEngine();
  const runVolumes = () =>
    a.sandboxId().then((id) => engine.listVolumes([`dev.ocbox.sandbox=${id}`, "dev.ocbox.role=run-files"]));
  expect((await runVolumes()).length).toBe(1);
  await a.run(["down"]);
  expect(await runVolumes()).toEqual([]);
});

it("a changed pre-start hook is not run without approval; approved, its exports reach env rules", async () => {
  const p = await project("hooked");
  await up(p); // approves the config change made by useScriptedModel
  await p.run(["down"]);
  const marker = join(p.root, "..", "hook-ran-marker");
  const hook = join(p.root, ".ocbox", "pre-start.sh");
  await writeFile(hook, `touch ${marker}\nexport FROM_HOOK=hook-value\n`);
  const config = join(p.root, "ocbox.yaml");
  await writeFile(
    config,
    (await readFile(config, "utf8")).replace("map: {}", "map: { FROM_HOOK: FROM_HOOK }"),
  );

  const refused = await p.run(["up", "--detach"]);
  expect(refused.code).toBe(2);
  expect(refused.stderr).toMatch(
    /not approved in .*: ocbox\.yaml \([^)]*env\.map[^)]*\); \.ocbox\/pre-start\.sh \(runs on the host\)/,
  );
  expect(refused.stderr).toMatch(/fix: .*ocbox approve .*--approve-config to `ocbox up` \(or --approve-hook/);
  expect(existsSync(marker)).toBe(false);
  expect(await containersOf([await p.sandboxId()])).toEqual([]);

  await up(p);
  expect(existsSync(marker)).toBe(true);
  const inside = await p.run(["exec", "--", "printenv", "FROM_HOOK"]);
  expect(inside.stdout).toBe("hook-value\n");
});
