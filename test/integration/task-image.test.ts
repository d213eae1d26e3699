/**
 * Issue 15, item 2: a Harbor task's environment/Dockerfile built through the Engine API on a
 * machine with no registry (its base is the bootstrap base), cached by a hash of its context,
 * build_timeout_sec enforced, and the context read as hostile input: a link in it to a host file
 * never carries that file into the image. Real engine; every image made here is removed.
 */
import { randomBytes } from "node:crypto";
import { cpSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import Docker from "dockerode";
import { afterAll, expect, it } from "vitest";
import type { OcboxError } from "../../src/errors.js";
import { loadTaskSet } from "../../src/eval/task-set.js";
import { buildTaskImages, taskSetApprovalFiles } from "../../src/eval/task-images.js";
import { ensureTaskImage } from "../../src/image/task-image.js";
import { opencodeRuntime, probeTaskImage } from "../../src/image/task-image-probe.js";
import { DockerEngine } from "../../src/runtime/docker-engine.js";
import { LABEL } from "../../src/runtime/labels.js";

const engine = new DockerEngine();
const docker = new Docker();
const FIXTURES = resolve(import.meta.dirname, "../fixtures/harbor-tasks");
const made = new Set<string>();

afterAll(async () => {
  for (const tag of made) await engine.removeImage(tag);
});

/** A copy of the fixture set with a per-run marker, so this run builds its own images. */
function freshSet(): string {
  const root = mkdtempSync(join(tmpdir(), "ocbox-task-image-"));
  cpSync(FIXTURES, root, { recursive: true });
  const marker = randomBytes(6).toString("hex");
  for (const id of ["hello-tool", "musl-tool", "offline"])
    writeFileSync(join(root, id, "environment", ".marker"), marker);
  return root;
}

/** Run argv in a throwaway container of `image`; its stdout. */
async function runIn(image: string, argv: string[]): Promise<string> {
  const c = await docker.createContainer({ Image: image, Cmd: argv, HostConfig: { NetworkMode: "none" } });
  try {
    await c.start();
    await c.wait();
    const logs = await c.logs({ stdout: true, stderr: true });
    // Multiplexed frames: 8-byte headers; the text is what the tests look for.
    return logs.toString("utf8");
  } finally {
    await c.remove({ force: true });
  }
}

it("builds each Harbor task's image on the bootstrap base, with progress, and caches it by context", async () => {
  const root = freshSet();
  const { tasks } = await loadTaskSet(root);
  expect(taskSetApprovalFiles(tasks).map((f) => `${f.task} ${f.kind}`)).toEqual([
    "hello-tool task.toml",
    "hello-tool environment/Dockerfile",
    "musl-tool task.toml",
    "musl-tool environment/Dockerfile",
    "offline task.toml",
    "offline environment/Dockerfile",
  ]);
  const lines: string[] = [];
  const approved: string[] = [];
  const first = await buildTaskImages(engine, tasks, {
    onLine: (task, line) => lines.push(`${task} ${line}`),
    approve: (files) => {
      approved.push(...files.map((f) => f.path));
      return Promise.resolve();
    },
  });
  expect(approved).toHaveLength(6);
  const hello = first.get("hello-tool");
  if (!hello?.ok) throw new Error(`no image: ${JSON.stringify(hello)}`);
  made.add(hello.tag);
  for (const id of ["offline", "musl-tool"]) {
    const other = first.get(id);
    if (other?.ok) made.add(other.tag);
    expect(other?.ok, JSON.stringify(other)).toBe(true);
  }
  expect(hello).toMatchObject({ built: true });
  expect(hello.tag).toMatch(/^ocbox-task:[0-9a-f]{16}$/);
  expect(lines.some((l) => /^hello-tool Step \d+\/\d+ : RUN/.test(l))).toBe(true);
  const inspect = await docker.getImage(hello.tag).inspect();
  expect(inspect.Config.Labels?.[LABEL.kind]).toBe("task-image");
  expect(inspect.Config.WorkingDir).toBe("/app");
  expect(await runIn(hello.tag, ["harbor-hello"])).toContain("hello from the task image");

  const again = await buildTaskImages(engine, tasks);
  expect(again.get("hello-tool")).toMatchObject({ ok: true, built: false, tag: hello.tag });
});

it("probes a task image's libc, USER and WORKDIR without running it: glibc, and musl without /lib64", async () => {
  const { tasks } = await loadTaskSet(freshSet(), { filter: "hello-tool,musl-tool" });
  const images = await buildTaskImages(engine, tasks);
  const tag = (id: string) => {
    const i = images.get(id);
    if (!i?.ok) throw new Error(`no image for ${id}: ${JSON.stringify(i)}`);
    made.add(i.tag);
    return i.tag;
  };
  const glibc = await probeTaskImage(engine, tag("hello-tool"));
  expect(glibc).toMatchObject({
    user: "",
    workdir: "/app",
    glibcLoader: true,
    muslLoader: false,
    lib64: true,
  });
  expect(opencodeRuntime(glibc).kind).toBe("glibc");
  const musl = await probeTaskImage(engine, tag("musl-tool"));
  expect(musl).toMatchObject({ workdir: "/app", glibcLoader: false, muslLoader: true, lib64: false });
  expect(opencodeRuntime(musl)).toMatchObject({ kind: "glibc-from-payload", mountAt: "/lib64" });
  // The musl image really is one: its static busybox runs, and there is no glibc in it.
  expect(await runIn(tag("musl-tool"), ["sh", "-c", "ls /lib; test -e /lib64 || echo no-lib64"])).toMatch(
    /ld-musl-x86_64\.so\.1[\s\S]*no-lib64/,
  );
  const left = await engine.listContainers([`${LABEL.kind}=probe`]);
  expect(left.filter((c) => c.image === glibc.image || c.image === musl.image)).toEqual([]);
});

it("stops a build at build_timeout_sec with a clear error", async () => {
  const ctx = mkdtempSync(join(tmpdir(), "ocbox-task-image-slow-"));
  writeFileSync(
    join(ctx, "Dockerfile"),
    `FROM ocbox/debian-base:bookworm\nRUN echo ${randomBytes(6).toString("hex")} && sleep 120\n`,
  );
  const t0 = performance.now();
  const error = await ensureTaskImage(
    engine,
    { kind: "dockerfile", context: ctx },
    { taskId: "slow", timeoutS: 3 },
  ).then(
    (img) => {
      made.add(img.tag);
      return undefined;
    },
    (e: unknown) => e as OcboxError,
  );
  expect(error?.code).toBe("IMAGE_BUILD");
  expect(error?.message).toBe("task slow: the image build took longer than 3 s");
  expect(error?.fix).toMatch(/build_timeout_sec/);
  expect((performance.now() - t0) / 1000).toBeLessThan(30);
});

it("refuses a BuildKit-only Dockerfile before building, naming its line", async () => {
  const ctx = mkdtempSync(join(tmpdir(), "ocbox-task-image-bk-"));
  writeFileSync(
    join(ctx, "Dockerfile"),
    "FROM ocbox/debian-base:bookworm\nRUN true\nRUN --mount=type=cache,target=/var/cache/apt apt-get update\n",
  );
  const error = await ensureTaskImage(
    engine,
    { kind: "dockerfile", context: ctx },
    { taskId: "bk", timeoutS: 60 },
  ).then(
    () => undefined,
    (e: unknown) => e as OcboxError,
  );
  expect(error?.code).toBe("IMAGE_BUILD");
  expect(error?.message).toBe(
    `${ctx}/Dockerfile:3: RUN --mount (cache, secret and bind mounts) needs BuildKit`,
  );
});

it("a link in the build context to a host file never brings that file into the image", async () => {
  const secretDir = mkdtempSync(join(tmpdir(), "ocbox-host-secret-"));
  const secret = `host-secret-${randomBytes(8).toString("hex")}`;
  writeFileSync(join(secretDir, "secret.txt"), secret);
  const ctx = mkdtempSync(join(tmpdir(), "ocbox-task-image-link-"));
  mkdirSync(join(ctx, "data"));
  symlinkSync(join(secretDir, "secret.txt"), join(ctx, "data", "leak"));
  writeFileSync(
    join(ctx, "Dockerfile"),
    "FROM ocbox/debian-base:bookworm\nCOPY data/ /data/\nRUN cat /data/leak > /copied.txt 2>&1 || echo unreadable > /copied.txt\n",
  );
  const result = await ensureTaskImage(
    engine,
    { kind: "dockerfile", context: ctx },
    { taskId: "link", timeoutS: 120 },
  ).then(
    (img) => {
      made.add(img.tag);
      return img;
    },
    (e: unknown) => e as OcboxError,
  );
  if ("tag" in result) {
    const out = await runIn(result.tag, ["sh", "-c", "cat /copied.txt; cat /data/leak 2>&1; true"]);
    expect(out).not.toContain(secret);
  } else {
    expect(result.code).toBe("IMAGE_BUILD");
  }
});
