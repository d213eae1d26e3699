/**
 * `ocbox up` in copy mode (issue 14 item 2), through the built `ocbox` as a person uses it: the
 * workspace copied into a volume, the scripted model driving the agent's bash tool, `ocbox sync`
 * bringing the work back three ways (a host edit made meanwhile kept, the agent's version beside
 * it), a hostile agent's link and 10 TiB file kept off the host, `down` syncing before it removes
 * the volume, and a sync that fails keeping the volume (and the reaper leaving it) until a retry.
 */
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { existsSync, lstatSync, readFileSync, readdirSync, readlinkSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { LABEL } from "../../src/runtime/labels.js";
import { ocbox } from "../helpers/cli.js";
import type { SyncResult } from "../../src/project/sync.js";
import { startScriptedModel, type ScriptedModel } from "../../src/scripted-model/server.js";
import {
  containersOf,
  engine,
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

const TASKS: Record<string, string> = {
  "TASK-EDIT":
    "cd /workspace && echo agent > edit.txt && rm gone.txt hostkeep.txt && mkdir -p new && echo fresh > new/b.txt && " +
    "echo agent-version > both.txt && chmod +x tool.sh && mkdir -p node_modules/x && echo agent > node_modules/x/a.js",
  "TASK-HOSTILE":
    "cd /workspace && ln -s /etc/passwd passwd-link && truncate -s 10T big && printf '#!/bin/sh\\nid\\n' > suid && " +
    "chmod 6755 suid && rm hostlink && mkdir hostlink && echo pwned > hostlink/x && echo ok > small.txt",
  "TASK-DOWN": "cd /workspace && echo at-down > late.txt && rm old.txt",
  "TASK-RO": "cd /workspace && echo agent > ro/new.txt && echo agent > top.txt",
};

beforeAll(async () => {
  model = await startScriptedModel({
    scenario: {
      models: ["scripted"],
      turns: Object.entries(TASKS).flatMap(([match, command]) => [
        { match, toolCalls: [{ name: "bash", arguments: { command, description: "work" } }] },
        { match, text: `${match} done` },
      ]),
      side: [{ match: "title", text: "a title" }],
    },
  });
  home = await tempHome();
});

afterEach(async () => {
  for (const p of created.splice(0)) await p.run(["down", "--discard"]);
  expect(await containersOf(ids)).toEqual([]);
  // The project's data volume stays (A3); nothing of copy mode does.
  for (const id of ids)
    for (const role of ["workspace-copy", "workspace-sync"])
      expect(await engine.listVolumes([`${LABEL.sandbox}=${id}`, `${LABEL.role}=${role}`])).toEqual([]);
});

afterAll(async () => {
  // The projects' data volumes (A3, kept across down/up) go with the test's projects.
  for (const id of ids)
    for (const v of await engine.listVolumes([`${LABEL.sandbox}=${id}`])) await engine.removeVolume(v.name);
  await model?.close();
  await removeHome(home);
});

async function project(name: string, files: Record<string, string>): Promise<TestProject> {
  const p = await makeProject(home, name);
  for (const [file, content] of Object.entries(files)) {
    await mkdir(join(p.root, file, ".."), { recursive: true });
    await writeFile(join(p.root, file), content);
  }
  const init = await p.run(["init", "--yes", "--json"]);
  expect(init.code, init.stderr).toBe(0);
  await useScriptedModel(p, model.url);
  ids.push(await p.sandboxId());
  return p;
}

async function upCopy(p: TestProject) {
  const r = await p.run(["up", "--detach", "--approve-hook", "--copy", "--json"]);
  expect(r.code, r.stderr).toBe(0);
  created.push(p);
  return JSON.parse(r.stdout) as {
    url: string;
    inside: string;
    workspace: { mode: string; why: string; volume: string; copyIn: { files: number } };
  };
}

/** One prompt; the scripted model answers it with one bash call, then a text. */
async function agent(p: TestProject, url: string, task: string) {
  const client = serverClient(url, await p.password());
  const session = await client.session.create({ title: task });
  const reply = await client.session.prompt({
    sessionID: session.data?.id as string,
    parts: [{ type: "text", text: task }],
  });
  const text = (reply.data?.parts ?? []).map((x) => (x.type === "text" ? x.text : "")).join("");
  expect(text).toContain(`${task} done`);
}

async function sync(p: TestProject): Promise<SyncResult> {
  const r = await p.run(["sync", "--json"]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as SyncResult;
}

const read = (p: TestProject, file: string) => readFileSync(join(p.root, file), "utf8");
const sha = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex");

it("up --copy: the agent's writes and deletes come back with `ocbox sync --json`, the user's; a host edit gives a listed conflict file", async () => {
  const p = await project("copy-edit", {
    "edit.txt": "old\n",
    "gone.txt": "bye\n",
    "both.txt": "base\n",
    "hostkeep.txt": "base\n",
    "tool.sh": "#!/bin/sh\n",
    "node_modules/dep/index.js": "host's dep\n",
  });
  const up = await upCopy(p);
  expect(up.workspace).toMatchObject({ mode: "copy", why: "copy (--copy)" });
  expect(up.workspace.volume).toMatch(/-ws$/);
  // The base of the merge is in the state dir, not where the agent writes.
  const baseFile = join(await p.stateDir(), "copy-base.json");
  expect(lstatSync(baseFile).mode & 0o777).toBe(0o600);
  expect(lstatSync(await p.stateDir()).mode & 0o777).toBe(0o700);

  await agent(p, up.url, "TASK-EDIT");
  // Copy mode: nothing reached the host yet.
  expect(read(p, "edit.txt")).toBe("old\n");
  // Meanwhile the user edits two files the agent also changed.
  await writeFile(join(p.root, "both.txt"), "host-version\n");
  await writeFile(join(p.root, "hostkeep.txt"), "host edit\n");

  const r = await sync(p);
  expect(r.written).toEqual(expect.arrayContaining(["edit.txt", "new/b.txt", "tool.sh"]));
  expect(r.deleted).toEqual(["gone.txt"]);
  const beside = r.conflicts.find((c) => c.path === "both.txt")?.agentCopy as string;
  expect(r.conflicts).toEqual(
    expect.arrayContaining([
      {
        path: "both.txt",
        kind: "both-edited",
        agentCopy: expect.stringMatching(/^both\.txt\.ocbox-conflict-/) as unknown as string,
      },
      { path: "hostkeep.txt", kind: "agent-deleted" },
    ]),
  );
  expect(read(p, "edit.txt")).toBe("agent\n");
  expect(read(p, "new/b.txt")).toBe("fresh\n");
  for (const f of ["edit.txt", "new/b.txt", beside])
    expect(lstatSync(join(p.root, f)).uid).toBe(process.getuid?.());
  expect(lstatSync(join(p.root, "tool.sh")).mode & 0o777).toBe(0o755);
  expect(existsSync(join(p.root, "gone.txt"))).toBe(false);
  expect(read(p, "both.txt")).toBe("host-version\n");
  expect(read(p, beside)).toBe("agent-version\n");
  expect(read(p, "hostkeep.txt")).toBe("host edit\n");
  expect(readdirSync(join(p.root, "node_modules"))).toEqual(["dep"]);

  // Nothing changed since: the next sync writes nothing and reports no old conflict again.
  const again = await sync(p);
  expect(again).toMatchObject({ written: [], deleted: [], conflicts: [], skipped: [] });
  const human = await p.run(["sync"]);
  expect(human.stdout).toMatch(/0 written, 0 deleted, 0 conflicts/);
});

it("a hostile agent: its link to /etc/passwd comes back as a link, its 10 TiB file stays out (and intact in its copy); down keeps the volume", async () => {
  const p = await project("copy-hostile", { "README.md": "hi\n", "outside/secret": "host secret\n" });
  execFileSync("ln", ["-s", join(p.root, "outside"), join(p.root, "hostlink")]);
  const passwd = sha("/etc/passwd");
  const up = await upCopy(p);
  await agent(p, up.url, "TASK-HOSTILE");
  const r = await sync(p);
  // Said when it fails (seen once in a full suite run): what the agent's volume holds and how the
  // scripted model answered each request.
  const seen = async () =>
    `sync: ${JSON.stringify(r)}\nin the volume:\n${(await p.run(["exec", "--", "ls", "-la", "/workspace"])).stdout}` +
    `model: ${JSON.stringify(model.requests.map((q) => [q.answeredBy, q.turn]))}\n` +
    // What the agent's bash printed (the tool result the model got last): seen once, the agent's
    // writes had not happened and the volume's root was root's (the cause is not found yet).
    `last tool result: ${JSON.stringify(model.requests.at(-1)?.body?.messages?.slice(-1))}`;
  if (r.skipped.length !== 1) console.log(await seen());
  expect(r.skipped).toEqual([{ path: "big", reason: "over-file-cap", size: 10 * 1024 ** 4 }]);
  expect(r.written).toEqual(expect.arrayContaining(["passwd-link", "small.txt", "suid", "hostlink/x"]));
  expect(sha("/etc/passwd")).toBe(passwd);
  expect(readlinkSync(join(p.root, "passwd-link"))).toBe("/etc/passwd");
  expect(existsSync(join(p.root, "big"))).toBe(false);
  expect(lstatSync(join(p.root, "suid")).mode & 0o7777).toBe(0o755);
  // The host's link was replaced by the agent's dir, never followed.
  expect(readdirSync(join(p.root, "outside"))).toEqual(["secret"]);
  expect(lstatSync(join(p.root, "hostlink")).isDirectory()).toBe(true);
  // The sync never emptied the agent's file: its copy is as the agent left it.
  const size = await p.run(["exec", "--", "stat", "-c", "%s", "/workspace/big"]);
  expect(size.stdout.trim()).toBe(String(10 * 1024 ** 4));

  // down: the sync left a file out, so the volume stays, with where and how.
  const down = await p.run(["down"]);
  expect(down.code).toBe(1);
  expect(down.stdout).toMatch(
    /the agent's work stays in the engine volume \S+-ws: the sync left out big \(over-file-cap\)/,
  );
  expect(await engine.volumeExists(up.workspace.volume)).toBe(true);
});

it("dot-files and links sync like any file: the agent's delete of .env and of a link reaches the host, a host edit of .gitignore is no conflict", async () => {
  const p = await project("copy-dot", { ".env": "A=1\n", ".gitignore": "dist/\n", "keep.txt": "k\n" });
  execFileSync("ln", ["-s", "keep.txt", join(p.root, "link")]);
  const up = await upCopy(p);
  await agentWrites(p, up.inside, "rm .env link && echo agent > .new");
  await writeFile(join(p.root, ".gitignore"), "dist/\nbuild/\n");
  const r = await sync(p);
  expect(r.deleted.sort()).toEqual([".env", "link"]);
  expect(r.written).toEqual([".new"]);
  expect(r.conflicts).toEqual([]);
  expect(existsSync(join(p.root, ".env"))).toBe(false);
  expect(read(p, ".gitignore")).toBe("dist/\nbuild/\n");
  expect(read(p, ".new")).toBe("agent\n");
});

it("a volume put in place of the agent's (empty, not ocbox's) deletes nothing: `ocbox sync` fails naming it", async () => {
  const p = await project("copy-foreign", { "a.txt": "a\n", "src/b.txt": "b\n", "c.txt": "c\n" });
  const up = await upCopy(p);
  // The sandbox and its volume go (another shell's `docker rm -f`, `docker volume prune`), and a
  // volume of the same name appears, empty: what the engine makes when anything mounts the name.
  for (const c of await containersOf([await p.sandboxId()])) await engine.removeContainer(c.id);
  await engine.removeVolume(up.workspace.volume);
  await engine.createVolume(up.workspace.volume, {}, {});
  try {
    const r = await p.run(["sync", "--json"]);
    expect(r.code).not.toBe(0);
    const said = r.stdout + r.stderr;
    expect(said).toMatch(/workspace volume \S+-ws cannot be trusted: it is not an ocbox workspace volume/);
    expect(said).toMatch(/Nothing on the host changed/);
    expect(said).not.toMatch(/at .*\.js:\d+/);
    // Read as a listing, the empty volume would have been the agent deleting all three.
    expect(read(p, "a.txt")).toBe("a\n");
    expect(read(p, "src/b.txt")).toBe("b\n");
    expect(read(p, "c.txt")).toBe("c\n");
  } finally {
    await engine.removeVolume(up.workspace.volume);
  }
});

it("the workspace volume's root is the agent's after every `up --copy` (a target path the image lacks): it creates and deletes at the top", async () => {
  const p = await project("copy-root", { "a.txt": "a\n", "src/b.txt": "b\n" });
  // Seen 2 in 3 before the fix: the root was root's 755 and the agent's writes there failed.
  for (let cycle = 0; cycle < 3; cycle++) {
    const up = await upCopy(p);
    const who = await p.run(["exec", "--", "sh", "-c", `id -u; stat -c '%u %a' ${up.inside}`]);
    const [uid, owner] = who.stdout.trim().split("\n");
    expect(owner, `cycle ${cycle}`).toBe(`${uid} 755`);
    await agentWrites(p, up.inside, "echo top > top.txt && rm a.txt && mkdir d && rmdir d");
    const down = await p.run(["down", "--discard"]);
    expect(down.code, down.stderr).toBe(0);
    created.splice(created.indexOf(p), 1);
  }
  expect(read(p, "a.txt")).toBe("a\n");
});

/** A shell command in the sandbox's workspace as the agent's user; it must succeed. */
async function agentWrites(p: TestProject, inside: string, command: string): Promise<void> {
  const r = await p.run(["exec", "--", "sh", "-c", `cd ${inside} && ${command}`]);
  expect(r.code, r.stderr).toBe(0);
}

/** Poll until `check` holds, up to `ms`; false when it never did. */
async function until(check: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return check();
}

it("`ocbox sync --watch --interval 1` brings each agent write to the host within seconds; SIGINT ends it with exit 0", async () => {
  const p = await project("copy-watch", { "README.md": "hi\n" });
  const up = await upCopy(p);
  const watch = ocbox(["sync", "--watch", "--interval", "1"], { cwd: p.root, env: p.env });
  let out = "";
  watch.child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  watch.child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
  try {
    // The writes through `ocbox exec` (the agent's user in the sandbox), not the scripted model:
    // this test is about the watch, and a model turn lost to a retried request under load (the
    // reply still says done, the bash call never ran) once made it wait for a file never written.
    await agentWrites(p, up.inside, "echo first > watch1.txt");
    const t1 = Date.now();
    // "Within seconds": 60 s is the bound on this shared machine under load (each sync is a helper
    // container); the seconds it took are printed.
    const first = await until(() => existsSync(join(p.root, "watch1.txt")), 60_000);
    expect(first, `watch1.txt never came back; the watch said: ${out}`).toBe(true);
    const firstS = (Date.now() - t1) / 1000;
    expect(read(p, "watch1.txt")).toBe("first\n");
    expect(lstatSync(join(p.root, "watch1.txt")).uid).toBe(process.getuid?.());
    // A second write (and a delete) arrives too, with no new command.
    await agentWrites(p, up.inside, "mkdir -p w && echo second > w/watch2.txt && rm watch1.txt");
    const t2 = Date.now();
    expect(
      await until(
        () => existsSync(join(p.root, "w/watch2.txt")) && !existsSync(join(p.root, "watch1.txt")),
        60_000,
      ),
    ).toBe(true);
    const secondS = (Date.now() - t2) / 1000;
    expect(read(p, "w/watch2.txt")).toBe("second\n");
    console.log(
      `sync --watch: first write on the host after ${firstS.toFixed(1)} s, second after ${secondS.toFixed(1)} s`,
    );
  } finally {
    watch.child.kill("SIGINT");
  }
  const ended = await watch;
  expect(ended.code, ended.stderr).toBe(0);
  expect(ended.signal).toBeNull();
  expect(ended.stderr + ended.stdout).toMatch(/stopped syncing/);
  expect(ended.stderr).not.toMatch(/error|failed|at .*\.js:\d+/i);
  expect(ended.stdout).toMatch(/wrote +watch1\.txt/);
  expect(ended.stdout).toMatch(/wrote +w\/watch2\.txt/);
});

it("`ocbox down` syncs the agent's last work before it removes the volume", async () => {
  const p = await project("copy-down", { "old.txt": "old\n", "keep.txt": "keep\n" });
  const up = await upCopy(p);
  await agent(p, up.url, "TASK-DOWN");
  const down = await p.run(["down", "--json"]);
  expect(down.code, down.stderr).toBe(0);
  const report = JSON.parse(down.stdout) as { sync: SyncResult; kept?: unknown };
  expect(report.kept).toBeUndefined();
  expect(report.sync).toMatchObject({ written: ["late.txt"], deleted: ["old.txt"], conflicts: [] });
  expect(read(p, "late.txt")).toBe("at-down\n");
  expect(existsSync(join(p.root, "old.txt"))).toBe(false);
  expect(await engine.volumeExists(up.workspace.volume)).toBe(false);
  expect(existsSync(join(await p.stateDir(), "copy-base.json"))).toBe(false);
  created.splice(created.indexOf(p), 1);
});

it("a sync that fails keeps the volume (the reaper leaves it too); `ocbox sync` retries without a sandbox, then down removes it", async () => {
  const p = await project("copy-ro", { "ro/keep.txt": "keep\n", "top.txt": "top\n" });
  const up = await upCopy(p);
  await agent(p, up.url, "TASK-RO");
  // The host side cannot be written (a read-only mount here; a full disk does the same).
  const ro = join(p.root, "ro");
  execFileSync("mount", ["--bind", ro, ro]);
  try {
    execFileSync("mount", ["-o", "remount,ro,bind", ro]);
    const down = await p.run(["down"]);
    expect(down.code).toBe(1);
    expect(down.stdout).toMatch(/the agent's work stays in the engine volume \S+-ws: the sync failed/);
    expect(down.stdout).toMatch(/`ocbox sync` tries again/);
    expect(await containersOf([await p.sandboxId()])).toEqual([]);
    // A new up over the unsynced copy is refused; it reaped first (as down did), and the volume
    // of an owner that is gone stays all the same.
    const again = await p.run(["up", "--detach", "--copy"]);
    if (again.code === 0) created.push(p);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/still in the engine volume/);
    expect(await engine.volumeExists(up.workspace.volume)).toBe(true);
  } finally {
    execFileSync("umount", [ro]);
  }
  const r = await sync(p);
  expect(r.written).toEqual(expect.arrayContaining(["ro/new.txt"]));
  expect(await readFile(join(ro, "new.txt"), "utf8")).toBe("agent\n");
  expect(read(p, "top.txt")).toBe("agent\n");
  const down = await p.run(["down"]);
  expect(down.code, down.stdout + down.stderr).toBe(0);
  expect(await engine.volumeExists(up.workspace.volume)).toBe(false);
  created.splice(created.indexOf(p), 1);
});
