/**
 * `ocbox eval prune`'s decision (prune-plan.ts) and the record of task sets that use task images
 * (task-set-record.ts): pure, no engine.
 */
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { decidePrune, taskSetsToRead, type PruneInputs } from "../../src/eval/prune-plan.js";
import { readTaskSets, recordTaskSets, taskSetRecordFile } from "../../src/eval/task-set-record.js";
import type { ContainerSummary, ImageSummary } from "../../src/runtime/engine.js";
import { LABEL } from "../../src/runtime/labels.js";

const image = (id: string, tags: string[], taskSet?: string): ImageSummary => ({
  id,
  tags,
  labels: {
    [LABEL.kind]: "task-image",
    [LABEL.task]: `task-${id}`,
    ...(taskSet ? { [LABEL.taskSet]: taskSet } : {}),
  },
  createdAt: new Date(0),
});
const container = (name: string, state: string): ContainerSummary => ({
  id: name,
  name,
  image: "x",
  state,
  status: state,
  labels: {},
  createdAt: new Date(0),
});
const inputs = (over: Partial<PruneInputs>): PruneInputs => ({
  images: [],
  taskSets: [],
  payloadVolumes: [],
  pinnedPayload: "ocbox-payload-now",
  opencodeVersion: "1.18.33",
  users: new Map(),
  ...over,
});

describe("eval prune: task images", () => {
  const images = [
    image("a", ["ocbox-task:aaaa"], "/sets/gone"),
    image("b", ["ocbox-task:bbbb"], "/sets/here"),
    image("c", ["ocbox-task:cccc"], "/sets/gone"), // shared: /sets/other still uses it
    image("d", [], "/sets/here"), // untagged by a rebuild under the same tag
    image("e", ["ocbox-task:eeee"], "/sets/broken"),
    image("f", ["ocbox-task:ffff"]), // built by an ocbox before the task-set label
  ];
  const taskSets = [
    { dir: "/sets/gone", state: "gone" as const },
    { dir: "/sets/here", state: "read" as const, tags: ["ocbox-task:bbbb"] },
    { dir: "/sets/other", state: "read" as const, tags: ["ocbox-task:cccc"] },
    { dir: "/sets/broken", state: "unreadable" as const, error: "task.toml:3: bad" },
  ];

  it("removes what no task set in use needs; keeps a used, a shared and an unreadable set's image", () => {
    const d = decidePrune(inputs({ images, taskSets }));
    expect(d.images.remove.map((i) => i.id)).toEqual(["a", "d", "f"]);
    expect(Object.fromEntries(d.images.keep.map((k) => [k.what.id, k.reason]))).toEqual({
      b: "ocbox-task:bbbb is used by a task set",
      c: "ocbox-task:cccc is used by a task set",
      e: "its task set /sets/broken could not be read: task.toml:3: bad",
    });
  });

  it("never removes an image a container uses, running or stopped", () => {
    const users = new Map([
      ["a", [container("ocbox-agent-1", "running")]],
      ["d", [container("old", "exited")]],
    ]);
    const d = decidePrune(inputs({ images, taskSets, users }));
    expect(d.images.remove.map((i) => i.id)).toEqual(["f"]);
    const why = Object.fromEntries(d.images.keep.map((k) => [k.what.id, k.reason]));
    expect(why.a).toBe("in use by running container ocbox-agent-1");
    expect(why.d).toBe("used by exited container old (remove it first: docker rm old)");
  });

  it("--task-set judges only the images built for those task sets, and no volume", () => {
    const d = decidePrune(
      inputs({
        images,
        taskSets,
        scope: new Set(["/sets/gone"]),
        payloadVolumes: [{ name: "ocbox-payload-old", labels: {} }],
      }),
    );
    expect(d.images.remove.map((i) => i.id)).toEqual(["a"]);
    expect(d.images.keep.map((k) => k.what.id)).toEqual(["c"]);
    expect(d.volumes).toEqual({ remove: [], keep: [] });
  });

  it("reads every task set once: the record's, the labels' and the named ones", () => {
    expect(taskSetsToRead(["/sets/here", "/r"], images, ["/n", "/r"])).toEqual([
      "/n",
      "/r",
      "/sets/broken",
      "/sets/gone",
      "/sets/here",
    ]);
  });
});

describe("eval prune: payload volumes", () => {
  const v = (name: string, opencode?: string): { name: string; labels: Record<string, string> } => ({
    name,
    labels: opencode ? { [LABEL.opencode]: opencode } : {},
  });

  it("removes other OpenCode versions' payloads; keeps the pinned one, this image's, and one in use", () => {
    const d = decidePrune(
      inputs({
        payloadVolumes: [
          v("ocbox-payload-old", "1.17.0"),
          v("ocbox-payload-same", "1.18.33"),
          v("ocbox-payload-now"),
          v("ocbox-payload-unlabelled"),
          v("ocbox-payload-busy", "1.17.0"),
        ],
        users: new Map([["ocbox-payload-busy", [container("task-agent", "running")]]]),
      }),
    );
    expect(d.volumes.remove).toEqual(["ocbox-payload-old", "ocbox-payload-unlabelled"]);
    expect(Object.fromEntries(d.volumes.keep.map((k) => [k.what, k.reason]))).toEqual({
      "ocbox-payload-same": "holds the pinned OpenCode 1.18.33",
      "ocbox-payload-now": "the payload of this ocbox's sandbox image",
      "ocbox-payload-busy": "in use by running container task-agent",
    });
  });

  it("an unlabelled payload stays when this ocbox's own payload cannot be named (no base image)", () => {
    const d = decidePrune(
      inputs({
        pinnedPayload: undefined,
        payloadVolumes: [v("ocbox-payload-x"), v("ocbox-payload-y", "1.0.0")],
      }),
    );
    expect(d.volumes.remove).toEqual(["ocbox-payload-y"]);
    expect(d.volumes.keep[0]?.what).toBe("ocbox-payload-x");
  });
});

describe("the record of task sets that use task images", () => {
  let state = "";
  afterEach(async () => {
    if (state) await rm(state, { recursive: true, force: true });
  });

  it("adds task sets once, in the state dir, 0600; none before the first", async () => {
    state = await mkdtemp(join(tmpdir(), "ocbox-prune-state-"));
    const env = { XDG_STATE_HOME: state };
    expect(await readTaskSets(env)).toEqual([]);
    await recordTaskSets(["/b", "/a"], env, new Date("2026-12-01T10:00:00Z"));
    await recordTaskSets(["/a"], env, new Date("2026-12-01T11:00:00Z"));
    expect(await readTaskSets(env)).toEqual(["/a", "/b"]);
    const file = taskSetRecordFile(env);
    expect(file).toBe(join(state, "ocbox", "eval", "task-sets.json"));
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(file, "utf8"))).toMatchObject({
      version: 1,
      taskSets: { "/a": "2026-12-01T11:00:00.000Z", "/b": "2026-12-01T10:00:00.000Z" },
    });
  });
});
