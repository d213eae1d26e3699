/**
 * A hostile agent would rewrite ocbox's approval and egress control records if ocbox mounted its
 * own state dir into the sandbox: `ocbox up` in a home folder, or `ocbox run -w ~`. Both refuse,
 * exit 2, naming the dir, before any container exists.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { ocbox } from "../helpers/cli.js";
import { engine } from "../helpers/project.js";
import { LABEL } from "../../src/runtime/labels.js";

let home: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), "ocbox-guard-home-"));
  env = {
    XDG_STATE_HOME: join(home, ".local", "state"),
    XDG_DATA_HOME: join(home, ".local", "share"),
  };
  await mkdir(join(home, ".local", "state", "ocbox"), { recursive: true });
  await writeFile(join(home, "ocbox.yaml"), "name: homeproj\n");
});

afterAll(async () => {
  await rm(home, { recursive: true, force: true });
});

async function containersNamed(fragment: string): Promise<number> {
  const all = await engine.listContainers([`${LABEL.managed}=true`], true);
  return all.filter((c) => c.name.includes(fragment)).length;
}

it("`ocbox up` in a folder that holds ocbox's state dir is refused before any container exists", async () => {
  const r = await ocbox(["up", "--detach", "--approve-hook"], { cwd: home, env });
  expect(r.code, r.stderr).toBe(2);
  expect(r.stderr).toContain("ocbox's state dir");
  expect(r.stderr).toContain(join(home, ".local", "state", "ocbox"));
  expect(await containersNamed("homeproj")).toBe(0);
});

it("`ocbox run -w` on such a folder is refused too (a warm task would copy it in and back)", async () => {
  const r = await ocbox(["run", "-w", home, "-p", "hello", "--json"], { env });
  expect(r.code, r.stderr).toBe(2);
  expect(`${r.stdout}${r.stderr}`).toContain("ocbox's state dir");
});
