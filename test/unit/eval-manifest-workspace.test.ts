/**
 * The eval manifest's workspace mode (issue 14): bind or copy and why, a top-level field outside the
 * config digest, so a run made before it was recorded still resumes. No engine: the run's output
 * dir is opened as `ocbox eval run` opens it.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { configDigest, manifestWorkspace, parseManifest, type RunConfig } from "../../src/eval/manifest.js";
import { renderReport } from "../../src/eval/report.js";
import { openOutput } from "../../src/eval/run.js";
import { summarise } from "../../src/eval/summary.js";
import type { TaskDef } from "../../src/eval/task-set.js";

const config: RunConfig = {
  model: "a/b",
  tasksDir: "/t",
  repeat: 1,
  filter: null,
  role: null,
  timeoutS: null,
  limit: null,
  timeoutMultiplier: null,
  oracle: false,
  runtime: "default",
};
const tasks = [{ id: "a", digest: "d1" }] as unknown as TaskDef[];
const copy = manifestWorkspace({ workspaceMode: "copy (--copy)", workspaceCopy: { exclude: [] } });

/** A manifest as an ocbox before this change wrote it: no `workspace`. */
function oldRun(): string {
  const dir = mkdtempSync(join(tmpdir(), "ocbox-manifest-ws-"));
  const old = {
    kind: "ocbox-eval-run",
    version: 1,
    config,
    ocbox: "0.1.0",
    opencode: "1",
    createdAt: "2026-11-30T10:00:00.000Z",
    updatedAt: "2026-11-30T10:00:00.000Z",
    tasks: { a: { digest: "d1" } },
    invalid: [],
  };
  writeFileSync(join(dir, "manifest.json"), JSON.stringify(old));
  return dir;
}

const read = (dir: string) => parseManifest(readFileSync(join(dir, "manifest.json"), "utf8"), "m");

describe("eval manifest: the workspace mode", () => {
  it("is taken from the plan's profile: copy with its reason, else bind", () => {
    expect(copy).toEqual({ mode: "copy", why: "copy (--copy)" });
    expect(manifestWorkspace({ workspaceMode: "bind mount (the engine sees /tmp; probe)" })).toEqual({
      mode: "bind",
      why: "bind mount (the engine sees /tmp; probe)",
    });
  });

  it("a run made before the field existed resumes (same config digest), and the field is written then", async () => {
    const dir = oldRun();
    const before = read(dir);
    expect(before.workspace).toBeUndefined();
    const opened = await openOutput({ outputDir: dir } as never, config, tasks, [], { workspace: copy });
    expect(configDigest(opened.config)).toBe(configDigest(before.config));
    expect(opened.createdAt).toBe(before.createdAt);
    const after = read(dir);
    expect(after.workspace).toEqual({ mode: "copy", why: "copy (--copy)" });
    // Another mode on the next resume is not a config change either: it is recorded, not refused.
    const bind = { mode: "bind" as const, why: "bind mount (workspace.mode: bind)" };
    await openOutput({ outputDir: dir } as never, config, tasks, [], { workspace: bind });
    expect(read(dir).workspace).toEqual(bind);
  });

  it("a changed config is still refused (the field does not weaken the check)", async () => {
    const dir = oldRun();
    await expect(
      openOutput({ outputDir: dir } as never, { ...config, repeat: 2 }, tasks, [], { workspace: copy }),
    ).rejects.toThrow(/started with another config/);
  });

  it("the report says it", () => {
    const summary = summarise([], [], null, new Date("2026-12-01T00:00:00.000Z"), {});
    const html = renderReport({ title: "r", model: "a/b", workspace: copy, summary, units: [] });
    expect(html).toContain('workspace <span id="workspace-mode">copy (--copy)</span>');
    expect(renderReport({ title: "r", model: "a/b", summary, units: [] })).not.toContain("workspace-mode");
  });
});
