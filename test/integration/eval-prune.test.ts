/**
 * `ocbox eval prune` (issue 15, item 2) with the built `ocbox` on the real engine: two task sets
 * build their own images (the offline fixture task with a per-run marker), one task set is
 * deleted; prune removes its image and keeps the other set's, never one a running container
 * uses, and `--dry-run` lists and removes nothing. Every run here is scoped with `--task-set` to
 * this test's task sets (other engineers share the engine), except one global `--dry-run`, which
 * removes nothing; the payload volume it judges is a labelled stand-in made and removed here.
 */
import { randomBytes } from "node:crypto";
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { PruneReport } from "../../src/eval/prune.js";
import { DockerEngine } from "../../src/runtime/docker-engine.js";
import { LABEL } from "../../src/runtime/labels.js";
import { ocbox } from "../helpers/cli.js";

const engine = new DockerEngine();
const FIXTURE = resolve(import.meta.dirname, "../fixtures/harbor-tasks/offline");
const root = mkdtempSync(join(tmpdir(), "ocbox-prune-"));
const env = { XDG_STATE_HOME: join(root, "state") };
const marker = randomBytes(6).toString("hex");
const gone = join(root, "gone-set");
const kept = join(root, "kept-set");
const oldPayload = `ocbox-payload-prunetest-${marker}`;
const tags: Record<string, string> = {};
const containers: string[] = [];

/** A one-task set whose image is its own (a marker in its build context). */
function taskSet(dir: string, name: string): void {
  mkdirSync(dir, { recursive: true });
  cpSync(FIXTURE, join(dir, name), { recursive: true });
  writeFileSync(join(dir, name, "environment", ".marker"), `${marker}-${name}`);
}

async function build(dir: string, name: string): Promise<string> {
  const r = await ocbox(["eval", "tasks", "--tasks", dir, "--build", "--json"], { env });
  expect(r.code, r.stderr).toBe(0);
  const out = JSON.parse(r.stdout) as { images: Record<string, { ok: boolean; tag: string }> };
  const tag = out.images[name]?.tag ?? "";
  expect(tag).toMatch(/^ocbox-task:/);
  return tag;
}

async function prune(...args: string[]): Promise<PruneReport> {
  const r = await ocbox(["eval", "prune", ...args, "--json"], { env });
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as PruneReport;
}

const scoped = ["--task-set", gone, "--task-set", kept];
const removedTags = (r: PruneReport) => r.images.removed.flatMap((i) => i.tags);
const keptTags = (r: PruneReport) =>
  Object.fromEntries(r.images.kept.flatMap((k) => k.image.tags.map((t) => [t, k.reason])));

beforeAll(async () => {
  taskSet(gone, "old-task");
  taskSet(kept, "new-task");
  tags.gone = await build(gone, "old-task");
  tags.kept = await build(kept, "new-task");
  rmSync(gone, { recursive: true, force: true });
  await engine.createVolume(
    oldPayload,
    { [LABEL.managed]: "true", [LABEL.kind]: "payload", [LABEL.opencode]: "0.0.1" },
    {},
  );
}, 600_000);

afterAll(async () => {
  for (const id of containers) await engine.removeContainer(id);
  for (const tag of Object.values(tags)) await engine.removeImage(tag);
  await engine.removeVolume(oldPayload);
  rmSync(root, { recursive: true, force: true });
});

it("labels a task image with its task set and task", async () => {
  const images = await engine.listImages([`${LABEL.task}=new-task`, `${LABEL.taskSet}=${kept}`]);
  expect(images.flatMap((i) => i.tags)).toContain(tags.kept);
});

it("--dry-run lists the deleted task set's image and another OpenCode's payload, and removes nothing", async () => {
  const scopedRun = await prune(...scoped, "--dry-run");
  expect(removedTags(scopedRun)).toEqual([tags.gone]);
  expect(keptTags(scopedRun)[tags.kept ?? ""]).toBe(`${tags.kept} is used by a task set`);
  // The global dry run (what a user types first) judges every ocbox task image and payload volume.
  const global = await prune("--dry-run");
  expect(global.dryRun).toBe(true);
  expect(removedTags(global)).toContain(tags.gone);
  expect(removedTags(global)).not.toContain(tags.kept);
  expect(global.volumes.removed).toContain(oldPayload);
  expect(await engine.imageId(tags.gone ?? "")).toBeDefined();
  expect(await engine.volumeExists(oldPayload)).toBe(true);
});

it("never removes an image a running container uses; removes it once that container is gone; keeps the used one", async () => {
  const id = await engine.createContainer({
    name: `ocbox-prune-user-${marker}`,
    image: tags.gone ?? "",
    labels: { "dev.ocbox.test": "eval-prune" },
    env: {},
    user: "0:0",
    entrypoint: ["sleep", "300"],
    networkMode: "none",
    mounts: [],
    tmpfs: {},
    readOnlyRoot: true,
    capDrop: ["ALL"],
    capAdd: [],
    securityOpt: ["no-new-privileges"],
    limits: { pids: 16 },
    stopTimeout: 1,
    logMaxSize: "1m",
    logMaxFiles: 1,
  });
  containers.push(id);
  await engine.startContainer(id);
  const busy = await prune(...scoped);
  expect(removedTags(busy)).toEqual([]);
  expect(keptTags(busy)[tags.gone ?? ""]).toMatch(/^in use by running container ocbox-prune-user-/);
  expect(await engine.imageId(tags.gone ?? "")).toBeDefined();

  await engine.removeContainer(id);
  const done = await prune(...scoped);
  expect(removedTags(done)).toEqual([tags.gone]);
  expect(await engine.imageId(tags.gone ?? "")).toBeUndefined();
  expect(await engine.imageId(tags.kept ?? "")).toBeDefined();
  const human = await ocbox(["eval", "prune", ...scoped], { env });
  expect(human.stdout).toContain(
    `kept image ${tags.kept} (task new-task): ${tags.kept} is used by a task set`,
  );
});
