import { describe, expect, it } from "vitest";
import { exposedDir, guardedDirs, isInside } from "../../src/sandbox/workspace-guard.js";

describe("a workspace never holds ocbox's own dirs", () => {
  const guarded = guardedDirs({ XDG_STATE_HOME: "/home/u/.local/state" }, "/home/u");

  it("names the state dir when the workspace is the home folder or holds it", () => {
    expect(exposedDir("/home/u", guarded)?.path).toBe("/home/u/.local/state/ocbox");
    expect(exposedDir("/home/u/.local", guarded)?.path).toBe("/home/u/.local/state/ocbox");
    expect(exposedDir("/home/u/.local/state/ocbox", guarded)?.path).toBe("/home/u/.local/state/ocbox");
    expect(exposedDir("/", guarded)).toBeDefined();
  });

  it("guards OpenCode's data dir (auth.json) and ocbox's cache too", () => {
    const paths = guarded.map((g) => g.path);
    expect(paths).toContain("/home/u/.local/share/opencode");
    expect(paths).toContain("/home/u/.cache/ocbox");
  });

  it("lets a project folder, a sibling with a shared prefix and a slot inside the state dir through", () => {
    expect(exposedDir("/home/u/src/app", guarded)).toBeUndefined();
    expect(exposedDir("/home/u/.local/state/ocbox-other", guarded)).toBeUndefined();
    expect(exposedDir("/home/u/.local/state/ocbox/slots/slot-1-2-abc", guarded)).toBeUndefined();
    expect(isInside("/a/bc", "/a/b")).toBe(false);
    expect(isInside("/a/b/c", "/a/b")).toBe(true);
  });
});
