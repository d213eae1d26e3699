/**
 * The models.dev snapshot read from the pinned OpenCode binary (opencode/models-snapshot*.ts): the
 * literal as data and nothing but data, the per-provider cache, and the subset a task sandbox
 * gets, whose provider ids (from configs in the workspace) are looked up, never used as paths.
 */
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseExpressionAt } from "acorn";
import { describe, expect, it } from "vitest";
import { findOpencodeBinary } from "../../src/image/opencode-binary.js";
import { modelsCacheDir, modelsFileText } from "../../src/opencode/models-snapshot.js";
import { NotData, parseSnapshot, snapshotOffset } from "../../src/opencode/models-snapshot-text.js";

const parse = (s: string) => parseExpressionAt(s, 0, { ecmaVersion: "latest" });

describe("the snapshot literal", () => {
  it("is found after its code and read as data: minified booleans, numbers, escapes, quoted keys", () => {
    const literal =
      '{a:{id:"a",env:["A_KEY"],npm:"p",models:{"m-1":{id:"m-1",reasoning:!0,tool_call:!1,' +
      "cost:{input:.5,output:-1,cache:1e-7},limit:null,name:'it\\'s \\u00e9',list:[1,\"x\"]}}}}";
    const bytes = Buffer.from(`var x=1;p=n.sync(()=>(${literal})),u=2;`);
    const at = snapshotOffset(bytes);
    expect(at).toBe(bytes.indexOf("{a:"));
    expect(parseSnapshot(bytes.toString("utf8", at), parse)).toEqual({
      a: {
        id: "a",
        env: ["A_KEY"],
        npm: "p",
        models: {
          "m-1": {
            id: "m-1",
            reasoning: true,
            tool_call: false,
            cost: { input: 0.5, output: -1, cache: 1e-7 },
            limit: null,
            name: "it's é",
            list: [1, "x"],
          },
        },
      },
    });
  });

  it("refuses anything that is not data, and a __proto__ key stays a key", () => {
    for (const code of [
      '{a:{id:"a",models:{},x:f()}}',
      '{a:{id:"a",models:{},...b}}',
      '{a:{id:"a",models:{},[k]:1}}',
    ])
      expect(() => parseSnapshot(code, parse), code).toThrow(NotData);
    const odd = parseSnapshot('{a:{id:"a",models:{},__proto__:{polluted:1}}}', parse);
    expect(Object.getPrototypeOf(odd?.a)).toBe(Object.prototype);
    expect(Object.keys(odd?.a ?? {})).toContain("__proto__");
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    // Not the snapshot's shape: no models, or an entry under another id.
    expect(parseSnapshot('{a:{id:"a"}}', parse)).toBeUndefined();
    expect(parseSnapshot('{a:{id:"b",models:{}}}', parse)).toBeUndefined();
  });
});

describe("the cache and a task's models file, from the real binary", () => {
  it("fills once per OpenCode version; the file holds only known providers, never a path from a config", async () => {
    const binary = findOpencodeBinary(process.arch === "arm64" ? "arm64" : "x64");
    const cache = await mkdtemp(join(tmpdir(), "ocbox-models-"));
    try {
      const env = { XDG_CACHE_HOME: cache };
      const hostile = [
        "anthropic",
        "../../../../etc/passwd",
        "/etc/shadow",
        "index",
        "scripted",
        "anthropic",
      ];
      const text = await modelsFileText(binary, hostile, env);
      const file = JSON.parse(text) as Record<string, { id: string; models: Record<string, unknown> }>;
      expect(Object.keys(file)).toEqual(["anthropic"]);
      expect(file.anthropic?.models["claude-haiku-4-5"]).toBeDefined();
      const dir = modelsCacheDir(binary.version, env);
      const names = await readdir(dir);
      expect(names.length).toBeGreaterThan(200);
      expect(names).toContain("_index.json");
      // No temp dir is left beside it.
      expect(await readdir(join(dir, ".."))).toEqual([`opencode-${binary.version}-models.v1`]);
      expect(await modelsFileText(binary, [], env)).toBe("{}");
      expect(JSON.parse(await modelsFileText(binary, ["opencode", "openai"], env))).toHaveProperty(
        "openai.models",
      );
      // A cache removed under a long-lived process (the service) is filled again, not a failed start.
      await rm(dir, { recursive: true, force: true });
      const again = JSON.parse(await modelsFileText(binary, ["groq"], env)) as Record<string, unknown>;
      expect(Object.keys(again)).toEqual(["groq"]);
      expect(await readdir(dir)).toContain("groq.json");
      // A provider file broken by hand is an error that says how to get it back.
      await writeFile(join(dir, "mistral.json"), "{not json");
      await expect(modelsFileText(binary, ["mistral"], env)).rejects.toThrow(/mistral\.json is not JSON/);
    } finally {
      await rm(cache, { recursive: true, force: true });
    }
  }, 120_000);
});
