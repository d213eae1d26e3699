/** Fixtures for the project-sandbox CLI tests: a temp project, isolated XDG dirs, the built CLI. */
import { mkdtemp, readFile, rm, writeFile, appendFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createOpencodeClient, type OpencodeClient } from "@opencode-ai/sdk/v2";
import { DockerEngine } from "../../src/runtime/docker-engine.js";
import { LABEL } from "../../src/runtime/labels.js";
import { authorization } from "../../src/opencode/server-handle.js";
import { ocbox, type CliResult } from "./cli.js";
import { loadProjectConfig } from "../../src/config/load.js";
import { dataVolumeName } from "../../src/sandbox/data-volume-name.js";

export const engine = new DockerEngine();

/** The project folders made under each home, whose data volumes go with the home. */
const projectsOf = new Map<string, string[]>();

export interface TestProject {
  root: string;
  env: NodeJS.ProcessEnv;
  run(args: string[], extraEnv?: NodeJS.ProcessEnv): Promise<CliResult>;
  sandboxId(): Promise<string>;
  password(): Promise<string>;
  stateDir(): Promise<string>;
}

/** A fresh project folder named `name` and XDG state/data dirs of its own (shared by `home`). */
export async function makeProject(home: string, name: string): Promise<TestProject> {
  const root = join(home, name);
  await mkdir(root, { recursive: true });
  projectsOf.set(home, [...(projectsOf.get(home) ?? []), root]);
  const env = { XDG_STATE_HOME: join(home, "state"), XDG_DATA_HOME: join(home, "data") };
  const p: TestProject = {
    root,
    env,
    run: (args, extraEnv = {}) => ocbox(args, { cwd: root, env: { ...env, ...extraEnv } }),
    sandboxId: async () => {
      const r = await p.run(["status", "--json"]);
      return (JSON.parse(r.stdout) as { sandboxId: string }).sandboxId;
    },
    stateDir: async () => join(home, "state", "ocbox", "sandboxes", await p.sandboxId()),
    password: async () => (await readFile(join(await p.stateDir(), "password"), "utf8")).trim(),
  };
  return p;
}

export async function tempHome(): Promise<string> {
  return mkdtemp(join(tmpdir(), "ocbox-project-test-"));
}

/** The home and, for each project made in it, its data volume (kept by `down`, as for a person). */
export async function removeHome(home: string): Promise<void> {
  for (const root of projectsOf.get(home) ?? []) {
    const project = await loadProjectConfig(root).catch(() => undefined);
    if (project) await engine.removeVolume(dataVolumeName(project.sandboxId)).catch(() => undefined);
  }
  projectsOf.delete(home);
  await rm(home, { recursive: true, force: true });
}

/** Point the project's ocbox.yaml at a scripted model server. */
export async function useScriptedModel(p: TestProject, modelUrl: string): Promise<void> {
  await appendFile(
    join(p.root, "ocbox.yaml"),
    `model:\n  baseURL: ${modelUrl}\n  models:\n    scripted: {}\nautonomous: true\n`,
  );
}

export function serverClient(url: string, password: string): OpencodeClient {
  return createOpencodeClient({ baseUrl: url, headers: { Authorization: authorization(password) } });
}

export async function writeText(path: string, text: string): Promise<void> {
  await writeFile(path, text);
}

/** Labelled containers of these sandboxes (any state). */
export async function containersOf(ids: readonly string[]) {
  const all = await engine.listContainers([`${LABEL.managed}=true`], true);
  return all.filter((c) => ids.includes(c.labels[LABEL.sandbox] ?? ""));
}
