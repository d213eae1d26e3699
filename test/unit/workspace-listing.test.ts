/**
 * Copy mode's sync back, the listing (issue 14): the helper's NUL-separated records parsed, compared
 * with the base, and only new or changed files fetched. The listing is the agent's data: odd records
 * are dropped, and what it says only decides what to fetch.
 */
import { describe, expect, it } from "vitest";
import { excludedBy } from "../../src/sandbox/copy-excludes.js";
import type { TreeEntry } from "../../src/sandbox/sync-decision.js";
import {
  parseHashes,
  parseListing,
  listScript,
  needsHashes,
  parseTrimmedList,
  planFromListing,
  prunableNames,
} from "../../src/sandbox/workspace-listing.js";

const rec = (...fields: string[]) => fields.map((f) => `${f}\0`).join("");
const H1 = "a".repeat(64);
const H2 = "b".repeat(64);
const caps = { maxFileBytes: 100, maxTotalBytes: 1000 };

describe("the sync listing", () => {
  it("parses records with any name (newlines too), drops odd ones", () => {
    const bytes = Buffer.from(
      rec("f", "644", "3", "1.5:7", "a\nb.txt", "") +
        rec("l", "777", "11", "1.5:7", "link", "/etc/passwd") +
        rec("d", "755", "4096", "1.5:7", "dir", "") +
        rec("f", "644", "1", "1.5:7", "../escape", "") +
        rec("f", "zz", "1", "1.5:7", "x", "") +
        rec("f", "644", "1", "1.5:7", "/abs", ""),
    );
    expect(parseListing(bytes)).toEqual([
      { type: "f", mode: 0o644, size: 3, stamp: "1.5:7", path: "a\nb.txt", target: "" },
      { type: "l", mode: 0o777, size: 11, stamp: "1.5:7", path: "link", target: "/etc/passwd" },
      { type: "d", mode: 0o755, size: 4096, stamp: "1.5:7", path: "dir", target: "" },
    ]);
    expect(parseHashes(Buffer.from(`${H1}  ./a\nb.txt\0${H2}  ./c\0junk\0`))).toEqual(
      new Map([
        ["a\nb.txt", H1],
        ["c", H2],
      ]),
    );
    expect(parseTrimmedList(Buffer.from(rec("10995116277760", "big", "x", "../y")))).toEqual(
      new Map([["big", 10995116277760]]),
    );
  });

  it("fetches only new or changed files; the rest is known from the base; big, FIFOs and excluded stay out", () => {
    const base = new Map<string, TreeEntry>([
      ["same", { kind: "file", size: 1, hash: H1, mode: 0o644 }],
      ["edited", { kind: "file", size: 1, hash: H1, mode: 0o644 }],
      ["chmod", { kind: "file", size: 1, hash: H1, mode: 0o644 }],
      ["big", { kind: "file", size: 1, hash: H1, mode: 0o644 }],
      ["gone", { kind: "file", size: 1, hash: H1, mode: 0o644 }],
    ]);
    const listing = parseListing(
      Buffer.from(
        rec("f", "644", "1", "1.5:7", "same", "") +
          rec("f", "644", "1", "1.5:7", "edited", "") +
          rec("f", "755", "1", "1.5:7", "chmod", "") +
          rec("f", "644", "200", "1.5:7", "big", "") +
          rec("f", "644", "1", "1.5:7", "new", "") +
          rec("f", "644", "1", "1.5:7", "nohash", "") +
          rec("p", "644", "0", "1.5:7", "fifo", "") +
          rec("l", "777", "3", "1.5:7", "ln", "/x") +
          rec("d", "700", "4096", "1.5:7", "node_modules", "") +
          rec("f", "644", "1", "1.5:7", "node_modules/a.js", ""),
      ),
    );
    const hashes = new Map([
      ["same", H1],
      ["edited", H2],
      ["chmod", H1],
      ["new", H2],
    ]);
    const plan = planFromListing(listing, hashes, base, { caps, excluded: excludedBy(["node_modules/"]) });
    expect(plan.candidates).toEqual(["edited", "chmod", "new", "nohash"]);
    // Until fetched, a candidate is as in the base (a fetch that misses it never reads as a delete).
    expect(plan.agent.get("edited")).toEqual(base.get("edited"));
    expect(plan.agent.has("new")).toBe(false);
    expect(plan.agent.get("same")).toMatchObject({ hash: H1 });
    expect(plan.agent.has("gone")).toBe(false);
    expect(plan.agent.get("ln")).toEqual({ kind: "link", target: "/x" });
    expect(plan.agent.has("node_modules")).toBe(false);
    expect(plan.agent.get("big")).toEqual(base.get("big"));
    expect(plan.leftOut).toEqual([
      { path: "big", reason: "over-file-cap", size: 200 },
      { path: "fifo", reason: "fifo" },
    ]);
  });

  it("a file whose stamp (change time, inode) is the base's is not read again; another stamp is fetched", () => {
    const base = new Map<string, TreeEntry>([
      ["kept", { kind: "file", size: 1, hash: H1, mode: 0o644, stamp: "10.0:5" }],
      ["rewritten", { kind: "file", size: 1, hash: H1, mode: 0o644, stamp: "10.0:6" }],
    ]);
    const listing = parseListing(
      Buffer.from(
        rec("f", "644", "1", "10.0:5", "kept", "") + rec("f", "644", "1", "12.5:6", "rewritten", ""),
      ),
    );
    expect(needsHashes(base)).toBe(false);
    expect(needsHashes(new Map([["a", { kind: "file", size: 1, hash: H1, mode: 0o644 }]]))).toBe(true);
    const plan = planFromListing(listing, new Map(), base, { caps, excluded: excludedBy([]) });
    expect(plan.candidates).toEqual(["rewritten"]);
    expect(plan.agent.get("kept")).toMatchObject({ hash: H1, stamp: "10.0:5" });
    expect(plan.stamps.get("rewritten")).toBe("12.5:6");
    expect(listScript(10, [], false)).not.toContain("sha256sum");
  });

  it("find prunes only plain excluded names, and none when a pattern re-includes", () => {
    expect(prunableNames(["node_modules/", ".venv", "*.log", "build/out", "a b"])).toEqual([
      "node_modules",
      ".venv",
    ]);
    expect(prunableNames(["node_modules/", "!keep"])).toEqual([]);
  });
});
