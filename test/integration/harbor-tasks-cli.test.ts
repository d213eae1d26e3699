/**
 * Issue 15, items 1 and 9, as a user meets them with the built `ocbox`: a Harbor-format folder
 * is read unchanged (not an empty run), a malformed task.toml is reported with its line, a folder
 * with no task is exit 2, --filter and --limit pick tasks, and `eval run` needs a model or
 * --oracle (test/integration/harbor-run.test.ts runs the set end to end).
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { expect, it } from "vitest";
import { ocbox } from "../helpers/cli.js";

const FIXTURES = resolve(import.meta.dirname, "../fixtures/harbor-tasks");
const env = () => ({ XDG_STATE_HOME: mkdtempSync(join(tmpdir(), "ocbox-state-")) });

it("ocbox eval tasks lists a Harbor task set, with --filter, --limit and --json", async () => {
  const r = await ocbox(["eval", "tasks", "--tasks", FIXTURES], { env: env() });
  expect(r.code).toBe(0);
  expect(r.stdout).toContain(
    "hello-tool: harbor, build environment/Dockerfile, agent cap 120 s, agent network no-network, verifier no-network",
  );
  expect(r.stdout).toContain("3 task(s), 0 invalid");
  const some = await ocbox(
    ["eval", "tasks", "--tasks", FIXTURES, "--filter", "*-tool", "--limit", "1", "--json"],
    {
      env: env(),
    },
  );
  expect(some.code).toBe(0);
  const view = JSON.parse(some.stdout) as { tasks: Array<{ id: string; oracle: boolean }> };
  expect(view.tasks.map((t) => [t.id, t.oracle])).toEqual([["hello-tool", true]]);
});

it("a malformed task.toml is an invalid task with its line; a folder with no task is exit 2", async () => {
  const root = mkdtempSync(join(tmpdir(), "ocbox-harbor-cli-"));
  cpSync(join(FIXTURES, "offline"), join(root, "offline"), { recursive: true });
  writeFileSync(
    join(root, "offline", "task.toml"),
    '[agent]\ntimeout_sec = 60\n\n[environment]\ncpus = "two"\n',
  );
  const r = await ocbox(["eval", "tasks", "--tasks", root], { env: env() });
  expect(r.code).toBe(1);
  expect(r.stdout).toContain(`invalid offline: ${root}/offline/task.toml:5: environment.cpus:`);

  const empty = mkdtempSync(join(tmpdir(), "ocbox-harbor-cli-"));
  mkdirSync(join(empty, "not-a-task"));
  const none = await ocbox(["eval", "tasks", "--tasks", empty], { env: env() });
  expect(none.code).toBe(2);
  expect(none.stderr).toContain("holds no task");
});

it("ocbox eval run without --model or --oracle exits 2 and writes nothing", async () => {
  const out = join(mkdtempSync(join(tmpdir(), "ocbox-harbor-out-")), "out");
  const r = await ocbox(["eval", "run", "--tasks", FIXTURES, "--output", out], { env: env() });
  expect(r.code).toBe(2);
  expect(r.stderr).toContain("eval run needs --model (or --oracle, which runs no model)");
  expect(existsSync(out)).toBe(false);
});

it("ocbox eval run on a Harbor set without approval exits 2 naming its task.toml files; nothing built or written", async () => {
  const out = join(mkdtempSync(join(tmpdir(), "ocbox-harbor-out-")), "out");
  const r = await ocbox(["eval", "run", "-m", "scripted/model", "--tasks", FIXTURES, "--output", out], {
    env: env(),
  });
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/hello-tool\/task\.toml/);
  expect(r.stderr).toMatch(/hello-tool\/environment\/Dockerfile/);
  expect(existsSync(out)).toBe(false);
});
