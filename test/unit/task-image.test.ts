import { chmodSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildkitOnly } from "../../src/image/classic-builder.js";
import { readTaskContext } from "../../src/image/task-context.js";
import { taskImageTag } from "../../src/image/task-image.js";
import { opencodeRuntime } from "../../src/image/task-image-probe.js";

describe("BuildKit-only Dockerfile lines", () => {
  it("names the first line the classic builder cannot build", () => {
    expect(buildkitOnly("FROM x\nRUN apt-get update\nCOPY . /app\n")).toBeUndefined();
    expect(
      buildkitOnly("# syntax=docker/dockerfile:1\nFROM x\nRUN --mount=type=cache,target=/r true\n"),
    ).toEqual({
      line: 3,
      what: "RUN --mount (cache, secret and bind mounts)",
    });
    expect(buildkitOnly("FROM x\nCOPY --chmod=755 a /a\n")?.line).toBe(2);
    expect(buildkitOnly("FROM x\nCOPY --link a /a\n")?.what).toBe("COPY --link");
    expect(buildkitOnly("FROM x\nRUN --network=none true\n")?.what).toBe("RUN --network");
    expect(buildkitOnly("FROM x\nRUN <<EOF\necho hi\nEOF\n")).toEqual({ line: 2, what: "a heredoc (<<EOF)" });
    expect(buildkitOnly("FROM x\nCOPY <<-'EOT' /a\nx\nEOT\n")?.line).toBe(2);
  });

  it("does not flag comments, continuation lines or shell arithmetic", () => {
    expect(buildkitOnly("FROM x\n# RUN --mount=type=cache true\nRUN echo $((1<<2))\n")).toBeUndefined();
    expect(buildkitOnly("FROM x\nRUN echo a \\\n  --mount=x\n")).toBeUndefined();
    expect(buildkitOnly("FROM x\nCOPY --chown=1:1 a /a\nADD --chown=0:0 b /b\n")).toBeUndefined();
  });
});

describe("a task's build context", () => {
  const make = () => {
    const dir = mkdtempSync(join(tmpdir(), "ocbox-ctx-"));
    writeFileSync(join(dir, "Dockerfile"), "FROM x\n");
    mkdirSync(join(dir, "src"));
    writeFileSync(join(dir, "src", "a.txt"), "a");
    return dir;
  };

  it("is named by its content: same files, same tag; a change of content, mode or link, a new one", async () => {
    const a = make();
    const b = make();
    const da = (await readTaskContext(a)).digest;
    expect((await readTaskContext(b)).digest).toBe(da);
    expect(taskImageTag(da)).toBe(`ocbox-task:${da.slice(0, 16)}`);
    writeFileSync(join(b, "src", "a.txt"), "b");
    const db = (await readTaskContext(b)).digest;
    expect(db).not.toBe(da);
    chmodSync(join(b, "src", "a.txt"), 0o755);
    const dc = (await readTaskContext(b)).digest;
    expect(dc).not.toBe(db);
    symlinkSync("/etc/passwd", join(b, "link"));
    const ctx = await readTaskContext(b);
    expect(ctx.digest).not.toBe(dc);
    expect(ctx.entries.find((e) => e.path === "link")).toMatchObject({ kind: "link", size: 0 });
    expect(ctx.dockerfile).toBe("FROM x\n");
  });
});

describe("OpenCode's runtime in a task image", () => {
  const probe = {
    image: "x",
    user: "",
    workdir: "/app",
    glibcLoader: false,
    muslLoader: false,
    lib64: false,
    bash: false,
    passwd: undefined,
  };
  it("uses the image's glibc loader, else glibc's from the payload at a free /lib64", () => {
    expect(opencodeRuntime({ ...probe, glibcLoader: true, lib64: true }).kind).toBe("glibc");
    expect(opencodeRuntime({ ...probe, muslLoader: true })).toEqual({
      kind: "glibc-from-payload",
      mountAt: "/lib64",
      why: "no /lib64 in the image (musl): glibc's loader comes from the payload there",
    });
    expect(opencodeRuntime(probe).kind).toBe("glibc-from-payload");
    expect(opencodeRuntime({ ...probe, lib64: true }).kind).toBe("unsupported");
  });
});
