/** `ocbox up`'s copy mode, the pure parts: the sync state file, down's keep decision, the snapshot helper, D3's env. */
import { describe, expect, it } from "vitest";
import { copyBaseJson, parseCopyBase, type CopyBase } from "../../src/project/copy-base.js";
import { keepCopy } from "../../src/project/down.js";
import type { SyncResult } from "../../src/project/sync.js";
import { copyModeConfigEnv } from "../../src/plan/project-placement.js";
import { fetchScript, listScript } from "../../src/sandbox/workspace-listing.js";
import { syncHelperContainer } from "../../src/sandbox/workspace-snapshot.js";
import { isKeptWorkspace } from "../../src/sandbox/workspace-volume.js";

const record: CopyBase = {
  sandboxId: "p-1",
  runId: "r1",
  volume: "ocbox-p-1-r1-ws",
  image: "ocbox/sandbox:abc",
  workspace: "/home/me/p",
  exclude: ["node_modules/"],
  caps: { maxFileBytes: 10, maxTotalBytes: 100 },
  at: "2026-12-01T00:00:00.000Z",
  base: new Map([
    ["b.txt", { kind: "file", size: 2, hash: "h", mode: 0o644 }],
    ["a", { kind: "dir" }],
    ["a/l", { kind: "link", target: "/etc/passwd" }],
  ]),
};

const result = (over: Partial<SyncResult> = {}): SyncResult => ({
  sandboxId: "p-1",
  volume: "v",
  workspace: "/w",
  written: [],
  deleted: [],
  conflicts: [],
  skipped: [],
  changed: 0,
  fetched: 0,
  ms: { list: 1, fetch: 0, pull: 0, host: 0, total: 2 },
  ...over,
});

describe("the copy-mode sync state (copy-base.json)", () => {
  it("round-trips, sorted by path", () => {
    const text = copyBaseJson(record);
    expect(text.indexOf('"a"')).toBeLessThan(text.indexOf('"b.txt"'));
    expect(parseCopyBase(JSON.parse(text), "f")).toEqual(record);
  });

  it("a damaged or newer file is a clear error naming it", () => {
    expect(() => parseCopyBase({ kind: "ocbox-copy-base", version: 1 }, "/s/copy-base.json")).toThrow(
      /\/s\/copy-base\.json: the copy-mode sync state is not valid/,
    );
    const newer = { ...JSON.parse(copyBaseJson(record)), version: 9 } as unknown;
    expect(() => parseCopyBase(newer, "/s/copy-base.json")).toThrow(/version 9, newer/);
  });
});

describe("down keeps the agent's copy", () => {
  it("when the sync failed, saying how to retry", () => {
    const kept = keepCopy("v", { error: "EROFS" });
    expect(kept).toMatchObject({ volume: "v", reason: "the sync failed: EROFS" });
    expect(kept?.fix).toMatch(/`ocbox sync` tries again .*`ocbox down --discard`/);
  });

  it("when the sync left files out (too large, FIFOs), naming them; not for conflicts alone", () => {
    const big = result({ skipped: [{ path: "big", reason: "over-file-cap", size: 11 }] });
    expect(keepCopy("v", big)?.reason).toBe("the sync left out big (over-file-cap)");
    const conflicted = result({
      conflicts: [{ path: "a", kind: "both-edited", agentCopy: "a.ocbox-conflict-x" }],
    });
    expect(keepCopy("v", conflicted)).toBeUndefined();
  });
});

describe("the snapshot helper", () => {
  it("lists without copying, hashes only files within the cap, prunes plain excluded names", () => {
    const script = listScript(2048, ["node_modules"]);
    expect(script).toContain(
      "cd /ocbox-src\nfind . -xdev -mindepth 1 \\( -name 'node_modules' \\) -prune -o -printf",
    );
    expect(script).toContain("-type f -size -2049c -print0 | xargs -0r sha256sum -z > /ocbox-snap/hashes");
    expect(script).not.toMatch(/cp /);
    expect(() => listScript(Number.NaN, [])).toThrow(/not a byte count/);
  });

  it("fetches the wanted paths as links, empties and lists files over the cap in its own volume only", () => {
    const script = fetchScript(2048);
    expect(script).toContain(
      "xargs -0r -a /ocbox-snap/want cp -P --parents --preserve=mode,timestamps,links --sparse=always -t /ocbox-snap/tree",
    );
    expect(script).toContain("find /ocbox-snap/tree -xdev -type f -size +2048c");
  });

  it("reads the agent's volume read-only, without network or more than read-everything capabilities", () => {
    const spec = syncHelperContainer(
      { image: "i", volume: "ws", snapshot: "snap", labels: {} },
      "list",
      "true",
    );
    expect(spec.mounts).toEqual([
      { type: "volume", source: "ws", target: "/ocbox-src", readOnly: true },
      { type: "volume", source: "snap", target: "/ocbox-snap" },
    ]);
    expect(spec).toMatchObject({ networkMode: "none", readOnlyRoot: true, capDrop: ["ALL"] });
    expect(spec.capAdd).toEqual(["DAC_OVERRIDE", "DAC_READ_SEARCH"]);
  });

  it("up's copy volume is one the reaper keeps", () => {
    expect(isKeptWorkspace({ "dev.ocbox.kind": "workspace" })).toBe(true);
    expect(isKeptWorkspace({ "dev.ocbox.kind": "cache" })).toBe(false);
  });
});

describe("D3 in copy mode", () => {
  it("no project config from the agent's copy; the approved one as content", () => {
    expect(copyModeConfigEnv({ permission: { bash: "allow" } })).toEqual({
      OPENCODE_DISABLE_PROJECT_CONFIG: "1",
      OPENCODE_CONFIG_CONTENT: '{"permission":{"bash":"allow"}}',
    });
    expect(copyModeConfigEnv(undefined)).toEqual({ OPENCODE_DISABLE_PROJECT_CONFIG: "1" });
  });
});
