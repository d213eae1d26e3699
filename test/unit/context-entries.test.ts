import { describe, expect, it } from "vitest";
import { leftOutOfImage, manifestEntryText, normaliseHeader } from "../../src/image/context-entries.js";

describe("image build context entries", () => {
  it("every entry is root's, 0755 for dirs and executables, 0644 otherwise: no setid, sticky or writable bits", () => {
    const h = (type: "file" | "directory", mode: number) =>
      normaliseHeader({ name: "x", type, mode, uid: 1000, gid: 1000, size: 0, mtime: new Date(0) });
    expect(h("file", 0o4755)).toMatchObject({ mode: 0o755, uid: 0, gid: 0 });
    expect(h("file", 0o666)).toMatchObject({ mode: 0o644 });
    expect(h("file", 0o700)).toMatchObject({ mode: 0o755 });
    expect(h("directory", 0o1777)).toMatchObject({ mode: 0o755 });
    expect(h("directory", 0o2770)).toMatchObject({ mode: 0o755 });
  });

  it("leaves out type declarations, source maps and a package's src/ its manifest does not name", () => {
    const manifests = new Map([
      ["opencode-config/node_modules/effect", manifestEntryText({ exports: { ".": "./dist/index.js" } })],
      [
        "opencode-config/node_modules/zod",
        manifestEntryText({ exports: { ".": { import: "./src/index.js" } } }),
      ],
      ["opencode-config/node_modules/a/node_modules/@s/b", manifestEntryText({ main: "lib/index.js" })],
    ]);
    const out = (rel: string) => leftOutOfImage(rel, manifests);
    expect(out("opencode-config/node_modules/effect/dist/index.d.ts")).toBe(true);
    expect(out("opencode-config/node_modules/effect/dist/index.js.map")).toBe(true);
    expect(out("opencode-config/node_modules/effect/src")).toBe(true);
    expect(out("opencode-config/node_modules/effect/src/Effect.ts")).toBe(true);
    expect(out("opencode-config/node_modules/a/node_modules/@s/b/src/x.js")).toBe(true);
    expect(out("opencode-config/node_modules/effect/dist/index.js")).toBe(false);
    expect(out("opencode-config/node_modules/effect/package.json")).toBe(false);
    // zod's manifest points into src/: kept.
    expect(out("opencode-config/node_modules/zod/src/index.js")).toBe(false);
    // A package with no manifest read: kept.
    expect(out("opencode-config/node_modules/unknown/src/index.js")).toBe(false);
    expect(out("opencode")).toBe(false);
  });
});
