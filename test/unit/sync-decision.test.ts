import { describe, expect, it } from "vitest";
import {
  agentChanges,
  conflictStamp,
  decideSync,
  nextBase,
  type TreeEntry,
} from "../../src/sandbox/sync-decision.js";

const f = (hash: string, mode = 0o644): TreeEntry => ({ kind: "file", size: hash.length, hash, mode });
const dir: TreeEntry = { kind: "dir" };
const tree = (o: Record<string, TreeEntry>) => new Map(Object.entries(o));
const STAMP = "2026-12-01T13-55-01Z";

function decide(
  base: Record<string, TreeEntry>,
  host: Record<string, TreeEntry>,
  agent: Record<string, TreeEntry>,
) {
  const b = tree(base);
  const a = tree(agent);
  return decideSync(b, tree(host), a, agentChanges(b, a), STAMP);
}

describe("copy mode's three-way sync decision", () => {
  it("applies what only the agent changed: edits, new files, deletes (deepest first), mode changes", () => {
    const base = { a: f("1"), gone: f("g"), d: dir, "d/x": f("x"), s: f("s") };
    const d = decide(base, base, { a: f("2"), new: f("n"), s: f("s", 0o755) });
    expect(d.conflicts).toEqual([]);
    expect(d.actions).toEqual([
      { kind: "write", path: "a", as: "a" },
      { kind: "write", path: "new", as: "new" },
      { kind: "write", path: "s", as: "s" },
      { kind: "delete", path: "gone", dir: false },
      { kind: "delete", path: "d/x", dir: false },
      { kind: "delete", path: "d", dir: true },
    ]);
  });

  it("leaves a host edit alone when the agent did not touch the file", () => {
    expect(decide({ a: f("1") }, { a: f("host") }, { a: f("1") })).toEqual({ actions: [], conflicts: [] });
  });

  it("does nothing when both ended the same", () => {
    expect(decide({ a: f("1") }, { a: f("2") }, { a: f("2") })).toEqual({ actions: [], conflicts: [] });
  });

  it("both edited: the host's stays, the agent's goes beside it as NAME.ocbox-conflict-<time>", () => {
    const d = decide({ "p/a": f("1") }, { "p/a": f("host") }, { "p/a": f("agent") });
    expect(d.actions).toEqual([{ kind: "write", path: "p/a", as: `p/a.ocbox-conflict-${STAMP}` }]);
    expect(d.conflicts).toEqual([
      { path: "p/a", kind: "both-edited", agentCopy: `p/a.ocbox-conflict-${STAMP}` },
    ]);
  });

  it("an edit wins over a delete, on either side, and is listed", () => {
    const agentDeleted = decide({ a: f("1") }, { a: f("host") }, {});
    expect(agentDeleted).toEqual({ actions: [], conflicts: [{ path: "a", kind: "agent-deleted" }] });
    const hostDeleted = decide({ a: f("1") }, {}, { a: f("agent") });
    expect(hostDeleted.actions).toEqual([{ kind: "write", path: "a", as: "a" }]);
    expect(hostDeleted.conflicts).toEqual([{ path: "a", kind: "host-deleted", agentCopy: "a" }]);
  });

  it("both created the same name differently: a conflict, not an overwrite", () => {
    const d = decide({}, { n: f("host") }, { n: f("agent") });
    expect(d.conflicts).toMatchObject([{ path: "n", kind: "both-edited" }]);
  });

  it("links compare by target; a link replaced by a dir is written", () => {
    const link = (target: string): TreeEntry => ({ kind: "link", target });
    expect(decide({ l: link("/a") }, { l: link("/a") }, { l: link("/a") }).actions).toEqual([]);
    expect(decide({ l: link("/a") }, { l: link("/a") }, { l: dir, "l/x": f("x") }).actions).toEqual([
      { kind: "write", path: "l", as: "l" },
      { kind: "write", path: "l/x", as: "l/x" },
    ]);
  });

  it("a dir the agent removed while the host added to it is removed only if empty (the delete is asked, rmdir decides)", () => {
    const d = decide({ d: dir, "d/a": f("1") }, { d: dir, "d/a": f("1") }, {});
    expect(d.actions).toEqual([
      { kind: "delete", path: "d/a", dir: false },
      { kind: "delete", path: "d", dir: true },
    ]);
  });

  it("the next base is the agent's tree, except the paths that did not reach the host", () => {
    const base = tree({ a: f("1"), b: f("1") });
    const agent = tree({ a: f("2"), b: f("2"), c: f("3") });
    expect(nextBase(base, agent, new Set(["b", "c"]))).toEqual(tree({ a: f("2"), b: f("1") }));
  });

  it("conflict stamps are file-name safe and sortable", () => {
    expect(conflictStamp(new Date("2026-12-01T13:55:01.123Z"))).toBe("2026-12-01T13-55-01Z");
  });
});
