/**
 * Issue 17, failure 7: errors read as what they are. The engine stops answering in the middle of
 * `ocbox web` (a unix-socket relay in front of the shared engine, which this test closes; the
 * engine itself keeps running for everyone else): the CLI says the engine stopped answering and
 * exits 3, not "the sandbox stopped". And an eval whose journal is damaged exits 2 naming the
 * journal, and the finished units' results are still there.
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { ensureImages } from "../../src/image/build.js";
import { scriptedOpencodeConfig } from "../../src/scripted-model/opencode-config.js";
import { startScriptedModel } from "../../src/scripted-model/server.js";
import { ocbox } from "../helpers/cli.js";
import {
  containersOf,
  engine,
  makeProject,
  removeHome,
  tempHome,
  type TestProject,
} from "../helpers/project.js";

/** A relay from `path` to the engine's socket; `close()` drops every connection and the listener. */
async function engineRelay(path: string): Promise<{ close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = createConnection("/var/run/docker.sock");
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => s.destroy());
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}

let home: string;
const projects: TestProject[] = [];
const ids: string[] = [];

beforeAll(async () => {
  home = await tempHome();
  await ensureImages(engine);
});

afterAll(async () => {
  for (const p of projects) await p.run(["down"]);
  if (ids.length) expect(await containersOf(ids)).toEqual([]);
  if (home) await removeHome(home);
});

it("an engine that stops answering during `ocbox web` is told as such, exit 3, not as a stopped sandbox", async () => {
  const p = await makeProject(home, "engine-lost");
  projects.push(p);
  expect((await p.run(["init", "--yes", "--json"])).code).toBe(0);
  ids.push(await p.sandboxId());
  const up = await p.run(["up", "--detach", "--approve-hook", "--json"]);
  expect(up.code, up.stderr).toBe(0);

  const sock = join(home, "engine-relay.sock");
  const relay = await engineRelay(sock);
  const web = ocbox(["web", "--print"], { cwd: p.root, env: { ...p.env, DOCKER_HOST: `unix://${sock}` } });
  let printed = "";
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("`ocbox web --print` printed no link in 60 s")), 60_000);
    web.child.stdout?.on("data", (d: Buffer) => {
      printed += d.toString();
      if (/https?:\/\/\S+/.test(printed)) {
        clearTimeout(t);
        resolve();
      }
    });
    web.child.once("exit", () => reject(new Error(`ocbox web exited early:\n${printed}`)));
  });
  // The command is serving; now the engine goes away under it.
  await relay.close();
  const r = await web;
  expect(r.stderr).toMatch(
    new RegExp(`the engine at unix://${sock.replace(/[.]/g, "\\.")} stopped answering`),
  );
  expect(r.stderr + r.stdout).not.toMatch(/not running|the sandbox stopped/);
  expect(r.code, r.stderr).toBe(3);
  // The sandbox itself is fine, as the engine is.
  const status = await p.run(["status", "--json"]);
  expect(status.code, status.stderr).toBe(0);
  expect((JSON.parse(status.stdout) as { running: boolean }).running).toBe(true);
});

it("an eval whose journal is damaged exits 2 naming the journal, and the finished results stay", async () => {
  const root = mkdtempSync(join(tmpdir(), "ocbox-journal-it-"));
  const tasks = join(root, "tasks");
  for (const id of ["one", "two"]) {
    mkdirSync(join(tasks, id, "app"), { recursive: true });
    writeFileSync(join(tasks, id, "app", "README.md"), `task ${id}\n`);
    writeFileSync(join(tasks, id, "prompt.md"), `TASK-${id.toUpperCase()}: nothing to do.\n`);
    writeFileSync(join(tasks, id, "requirements.yaml"), "- id: r1\n  description: nothing changed\n");
  }
  const model = await startScriptedModel({
    scenario: {
      turns: ["TASK-ONE", "TASK-TWO"].map((match) => ({
        match,
        structured: { outcome: "COMPLETE", summary: "done" },
      })),
    },
  });
  try {
    const config = join(root, "solver.json");
    writeFileSync(config, JSON.stringify(scriptedOpencodeConfig(model.url)));
    const output = join(root, "out");
    const args = ["eval", "run", "--model", "scripted/scripted", "--tasks", tasks, "--output", output];
    const first = await ocbox([...args, "--opencode-config", config, "--json"]);
    expect(first.code, first.stderr).toBe(0);
    const results = (id: string) => readFileSync(join(output, "tasks", id, "r1", "result.json"), "utf8");
    const before = { one: results("one"), two: results("two") };

    // Damage the middle of the journal (a disk error, a bad edit): the first entry becomes bytes.
    const journal = join(output, "journal.jsonl");
    const lines = readFileSync(journal, "utf8").split("\n");
    expect(lines.length).toBeGreaterThan(3);
    lines[1] = "\u0000\u0000\u0017garbage";
    writeFileSync(journal, lines.join("\n"));

    const again = await ocbox([...args, "--opencode-config", config]);
    expect(again.code, again.stderr).toBe(2);
    expect(again.stderr).toContain(`${journal} line 2: the run journal is damaged`);
    expect(again.stderr).toMatch(/ocbox changed nothing/);
    // Nothing reran, nothing was deleted.
    expect({ one: results("one"), two: results("two") }).toEqual(before);
    expect(readdirSync(join(output, "tasks")).sort()).toEqual(["one", "two"]);
    expect(readFileSync(journal, "utf8")).toBe(lines.join("\n"));
  } finally {
    await model.close();
    rmSync(root, { recursive: true, force: true });
  }
});
