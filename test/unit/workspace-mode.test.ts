import { describe, expect, it } from "vitest";
import { decideWorkspaceMode, needsProbe } from "../../src/plan/workspace-mode.js";
import {
  PROBE_TTL_MS,
  cachedAnswer,
  emptyProbeCache,
  engineKey,
  parseProbeCache,
  pathPrefix,
  withAnswer,
} from "../../src/sandbox/path-probe-cache.js";
import { excludedBy } from "../../src/sandbox/copy-excludes.js";
import { entryPath } from "../../src/sandbox/workspace-pull.js";
import type { Engine } from "../../src/runtime/engine.js";

const probe = (visible: boolean, cached = false) => ({ visible, prefix: "/home/a", cached });

describe("bind or copy (issue 14)", () => {
  it("--copy and workspace.mode force a mode without a probe", () => {
    expect(needsProbe({ forceCopy: true, configured: "auto" })).toBe(false);
    expect(needsProbe({ configured: "bind" })).toBe(false);
    expect(needsProbe({ configured: "auto" })).toBe(true);
    expect(decideWorkspaceMode({ forceCopy: true, configured: "bind", endpoint: "e" })).toEqual({
      mode: "copy",
      why: "copy (--copy)",
    });
    expect(decideWorkspaceMode({ configured: "copy", endpoint: "e" }).mode).toBe("copy");
    expect(decideWorkspaceMode({ configured: "bind", endpoint: "e", probe: probe(false) }).mode).toBe("bind");
  });

  it("auto follows the probe and says why", () => {
    expect(decideWorkspaceMode({ configured: "auto", endpoint: "e", probe: probe(true, true) })).toEqual({
      mode: "bind",
      why: "bind mount (the engine sees /home/a; cached probe)",
    });
    expect(decideWorkspaceMode({ configured: "auto", endpoint: "unix:///x", probe: probe(false) })).toEqual({
      mode: "copy",
      why: "copy (the engine at unix:///x cannot see /home/a; probe)",
    });
    // No dir this user can write near the workspace: not probed, the bind mount as before, and why.
    const unprobed = { ...probe(true), unprobed: "no probe marker could be made in /srv/t" };
    expect(decideWorkspaceMode({ configured: "auto", endpoint: "e", probe: unprobed })).toEqual({
      mode: "bind",
      why: "bind mount (auto: no probe marker could be made in /srv/t; --copy forces copy)",
    });
  });
});

describe("the probe cache", () => {
  const key = engineKey("unix:///var/run/docker.sock", "ID1");
  it("is per engine and path prefix, and expires", () => {
    expect(pathPrefix("/home/alice/src/app")).toBe("/home/alice");
    expect(pathPrefix("/work")).toBe("/work");
    // Not the whole temp dir: an engine may see one dir under it and not the rest (the
    // no-shared-files leg shares only /tmp/ocbox-noshare.…).
    expect(pathPrefix("/tmp/ocbox-noshare.x1/ws")).toBe("/tmp/ocbox-noshare.x1");
    expect(pathPrefix("/tmp")).toBe("/tmp");
    const c = withAnswer(emptyProbeCache(), key, "/home/alice", false, 1000);
    expect(cachedAnswer(c, key, "/home/alice", 2000)).toBe(false);
    expect(cachedAnswer(c, key, "/tmp/x", 2000)).toBeUndefined();
    expect(
      cachedAnswer(c, engineKey("unix:///var/run/docker.sock", "ID2"), "/home/alice", 2000),
    ).toBeUndefined();
    expect(cachedAnswer(c, key, "/home/alice", 1000 + PROBE_TTL_MS + 1)).toBeUndefined();
  });

  it("drops another engine's answers behind the same endpoint (the engine changed); keeps other endpoints'", () => {
    const other = engineKey("ssh://h", "X");
    let c = withAnswer(emptyProbeCache(), key, "/a", true, 1);
    c = withAnswer(c, other, "/a", false, 1);
    c = withAnswer(c, engineKey("unix:///var/run/docker.sock", "ID2"), "/a", false, 1);
    expect(Object.keys(c.engines).sort()).toEqual([other, "unix:///var/run/docker.sock#ID2"].sort());
  });

  it("a damaged or foreign cache file is an empty cache", () => {
    expect(parseProbeCache("{not json")).toEqual(emptyProbeCache());
    expect(parseProbeCache('{"version":2}')).toEqual(emptyProbeCache());
    expect(parseProbeCache(undefined)).toEqual(emptyProbeCache());
  });
});

describe("copy mode's names", () => {
  it("excludes are .gitignore patterns, dirs included with their contents", () => {
    const ex = excludedBy(["node_modules/", "*.log", "/build"]);
    expect(ex("node_modules")).toBe(true);
    expect(ex("a/node_modules/x.js")).toBe(true);
    expect(ex("x.log")).toBe(true);
    expect(ex("build")).toBe(true);
    expect(ex("src/build")).toBe(false);
    expect(ex("src/a.ts")).toBe(false);
    expect(excludedBy([])("node_modules")).toBe(false);
  });

  it("archive names: relative to the top dir, no .. or absolute names", () => {
    expect(entryPath("workspace/a/b.txt")).toBe("a/b.txt");
    expect(entryPath("workspace/")).toBeUndefined();
    expect(entryPath("workspace/../etc/passwd")).toBeUndefined();
    expect(entryPath("/workspace/a")).toBeUndefined();
    expect(entryPath("workspace/a/./b")).toBeUndefined();
  });
});

describe("the probes' engine key (issue 16)", () => {
  it("asks the engine's id once per engine object, and again after a failed ask", async () => {
    const { probeEngineKey } = await import("../../src/sandbox/probe-cache-file.js");
    let asked = 0;
    let fail = true;
    const engine = {
      endpoint: "unix:///var/run/docker.sock",
      info: () => {
        asked++;
        return fail ? Promise.reject(new Error("no engine")) : Promise.resolve({ id: "ID1" });
      },
    } as unknown as Engine;
    await expect(probeEngineKey(engine)).rejects.toThrow("no engine");
    fail = false;
    expect(await probeEngineKey(engine)).toBe("unix:///var/run/docker.sock#ID1");
    expect(await probeEngineKey(engine)).toBe("unix:///var/run/docker.sock#ID1");
    expect(asked).toBe(2);
  });
});
