import { describe, expect, it } from "vitest";
import {
  extractContract,
  extractFenced,
  extractTrailingBraces,
  extractWhole,
  fencedBlocks,
  matchingOpenBrace,
  normalizeText,
  parseJsonObject,
} from "../../src/executor/extract.js";

const fence = (body: string, info = "json"): string => "```" + info + "\n" + body + "\n```";

describe("parseJsonObject", () => {
  it("accepts objects only", () => {
    expect(parseJsonObject('{"a":1}')).toEqual({ a: 1 });
    expect(parseJsonObject("[1,2]")).toBeUndefined();
    expect(parseJsonObject('"text"')).toBeUndefined();
    expect(parseJsonObject("42")).toBeUndefined();
    expect(parseJsonObject("null")).toBeUndefined();
    expect(parseJsonObject("{oops}")).toBeUndefined();
    expect(parseJsonObject("")).toBeUndefined();
  });
});

describe("normalizeText", () => {
  it("drops a BOM and turns CRLF and CR into LF", () => {
    expect(normalizeText("\ufeffa\r\nb\rc\n")).toBe("a\nb\nc\n");
    expect(normalizeText("plain")).toBe("plain");
  });
});

describe("fenced strategy", () => {
  it("takes a json block surrounded by prose", () => {
    const text = `I fixed the bug.\n\n${fence('{"outcome": "COMPLETE", "summary": "done"}')}\n`;
    expect(extractContract(text)).toEqual({
      value: { outcome: "COMPLETE", summary: "done" },
      strategy: "fenced",
    });
  });

  it("prefers the last block that parses when there are several", () => {
    const text = [
      "Example of the format:",
      fence('{"outcome": "ERROR"}'),
      "Now the real answer:",
      fence('{"outcome": "COMPLETE", "n": 2}'),
      "Some trailing prose.",
    ].join("\n");
    expect(extractContract(text)?.value).toEqual({ outcome: "COMPLETE", n: 2 });
  });

  it("skips a later block that does not parse and takes the one before", () => {
    const text = [fence('{"outcome": "COMPLETE"}'), fence('{"outcome": COMPLETE,}')].join("\n");
    expect(extractContract(text)).toEqual({ value: { outcome: "COMPLETE" }, strategy: "fenced" });
  });

  it("accepts an untagged fence and a JSON tag in any case, ignores other languages", () => {
    expect(extractFenced(fence('{"a": 1}', ""))).toEqual({ a: 1 });
    expect(extractFenced(fence('{"a": 2}', "JSON"))).toEqual({ a: 2 });
    expect(extractFenced(fence('{"a": 3}', "json title=answer"))).toEqual({ a: 3 });
    expect(extractFenced(fence('{"a": 4}', "ts"))).toBeUndefined();
    expect(extractFenced(fence('{"a": 5}', "python"))).toBeUndefined();
  });

  it("accepts tilde fences, indented fences and longer fences", () => {
    expect(extractFenced('~~~json\n{"a": 1}\n~~~')).toEqual({ a: 1 });
    expect(extractFenced('  ```json\n  {"a": 2}\n  ```')).toEqual({ a: 2 });
    expect(extractFenced('````json\n{"a": "```"}\n```\n````')).toBeUndefined(); // the inner ``` line is body, not JSON
    expect(extractFenced('````json\n{"a": "x"}\n````')).toEqual({ a: "x" });
  });

  it("treats an unclosed final fence as running to the end (truncated output)", () => {
    expect(extractFenced('Answer:\n```json\n{"outcome": "COMPLETE"}\n')).toEqual({ outcome: "COMPLETE" });
  });

  it("does not take a block whose body is an array; the object inside is not a contract either", () => {
    const text = fence('[{"outcome": "COMPLETE"}]');
    expect(extractFenced(text)).toBeUndefined();
    expect(extractContract(text)).toBeUndefined();
  });

  it("handles CRLF line ends and a BOM", () => {
    const text = '\ufeffDone.\r\n```json\r\n{\r\n  "outcome": "COMPLETE"\r\n}\r\n```\r\n';
    expect(extractContract(text)).toEqual({ value: { outcome: "COMPLETE" }, strategy: "fenced" });
  });

  it("an inline one-line fence is not a fence, but the braces still are found", () => {
    const text = 'Result: ```json {"outcome": "COMPLETE"} ```';
    expect(fencedBlocks(text)).toEqual([]);
    expect(extractContract(text)).toEqual({ value: { outcome: "COMPLETE" }, strategy: "trailing-braces" });
  });

  it("lists blocks with their info strings", () => {
    expect(fencedBlocks("```ts\nlet a = 1;\n```\ntext\n```\nplain\n```")).toEqual([
      { info: "ts", body: "let a = 1;" },
      { info: "", body: "plain" },
    ]);
  });
});

describe("whole-document strategy", () => {
  it("takes a document that is one JSON object, trimmed", () => {
    expect(extractContract('\n  {"outcome": "NEEDS_INFO", "questions": ["which port?"]}\n\n')).toEqual({
      value: { outcome: "NEEDS_INFO", questions: ["which port?"] },
      strategy: "whole",
    });
  });

  it("rejects a top-level array, string or number", () => {
    expect(extractWhole('[{"outcome": "COMPLETE"}]')).toBeUndefined();
    expect(extractContract('[{"outcome": "COMPLETE"}]')).toBeUndefined();
    expect(extractContract('[{"a": 1}, {"outcome": "COMPLETE"}]')).toBeUndefined();
    expect(extractContract('"{\\"outcome\\": \\"COMPLETE\\"}"')).toBeUndefined();
    expect(extractContract("42")).toBeUndefined();
  });

  it("handles a BOM and CRLF", () => {
    expect(extractWhole('\ufeff{\r\n"outcome": "ERROR",\r\n"error": "no"\r\n}\r\n')).toEqual({
      outcome: "ERROR",
      error: "no",
    });
  });
});

describe("trailing-braces strategy", () => {
  it("takes the object after prose", () => {
    const text = 'I changed three files and ran the tests.\n{"outcome": "COMPLETE", "summary": "ok"}';
    expect(extractContract(text)).toEqual({
      value: { outcome: "COMPLETE", summary: "ok" },
      strategy: "trailing-braces",
    });
  });

  it("tolerates prose after the object, including stray braces", () => {
    const text = 'Answer {"outcome": "COMPLETE"} -- use ${HOME} and :} next time.';
    expect(extractTrailingBraces(text)).toEqual({ outcome: "COMPLETE" });
  });

  it("takes the outermost object, not a nested one", () => {
    const text =
      'x {"outcome": "COMPLETE", "details": {"files": {"a.ts": {"lines": 3}}}, "n": [{"k": {}}]} y';
    expect(extractTrailingBraces(text)).toEqual({
      outcome: "COMPLETE",
      details: { files: { "a.ts": { lines: 3 } } },
      n: [{ k: {} }],
    });
  });

  it("ignores braces inside strings", () => {
    const value = {
      outcome: "COMPLETE",
      summary: "wrote } and { and {{}} and }}{{",
      code: "function f() { return '}'; }",
    };
    const text = `Here: ${JSON.stringify(value)} end.`;
    expect(extractTrailingBraces(text)).toEqual(value);
  });

  it("handles escaped quotes and backslashes before quotes", () => {
    const value = { outcome: "COMPLETE", summary: 'he said "}" and left', path: "C:\\dir\\", quote: '\\"}' };
    const text = `prose ${JSON.stringify(value)} more prose`;
    expect(extractTrailingBraces(text)).toEqual(value);
  });

  it("takes the last of several objects, and goes back past one that does not parse", () => {
    expect(extractTrailingBraces('{"a": 1} then {"b": 2}')).toEqual({ b: 2 });
    expect(extractTrailingBraces('{"a": 1} then {b: 2}')).toEqual({ a: 1 });
    expect(extractTrailingBraces('{ see {"outcome": "COMPLETE"} here }')).toEqual({ outcome: "COMPLETE" });
  });

  it("skips objects that are array elements", () => {
    expect(extractTrailingBraces('Results: [{"a": 1}, {"b": 2}]')).toBeUndefined();
    expect(extractTrailingBraces('{"outcome": "COMPLETE"} and [ {"b": 2} ]')).toEqual({
      outcome: "COMPLETE",
    });
  });

  it("handles an unbalanced open brace in the prose before the object", () => {
    expect(extractTrailingBraces('Call f({ like this.\n\n{"outcome": "COMPLETE"}')).toEqual({
      outcome: "COMPLETE",
    });
  });

  it("finds the matching open brace walking backwards", () => {
    const text = 'ab {"x": "}", "y": {"z": 1}} cd';
    const end = text.lastIndexOf("}");
    expect(matchingOpenBrace(text, end).start).toBe(3);
    expect(matchingOpenBrace("}}", 1).start).toBe(-1);
  });
});

describe("strategy order", () => {
  it("fenced wins over trailing braces", () => {
    const text = `${fence('{"outcome": "COMPLETE", "from": "fence"}')}\nAlso {"outcome": "ERROR", "from": "prose"}`;
    expect(extractContract(text)).toEqual({
      value: { outcome: "COMPLETE", from: "fence" },
      strategy: "fenced",
    });
  });

  it("an invalid fence falls through to the next strategy", () => {
    const text = `${fence('{"outcome": "COMPLETE",}')}\n{"outcome": "COMPLETE", "from": "prose"}`;
    expect(extractContract(text)).toEqual({
      value: { outcome: "COMPLETE", from: "prose" },
      strategy: "trailing-braces",
    });
  });

  it("a document that is a fenced block is found by the fence strategy", () => {
    expect(extractContract(fence('{"outcome": "COMPLETE"}'))?.strategy).toBe("fenced");
  });

  it("an accept predicate looks past objects that are not the contract, across strategies", () => {
    const text = [
      'Final answer: {"outcome": "COMPLETE"}',
      "For reference, the package.json I wrote:",
      fence('{"name": "demo", "version": "1.0.0"}'),
    ].join("\n");
    const hasOutcome = (v: Record<string, unknown>) => "outcome" in v;
    expect(extractContract(text)).toEqual({ value: { name: "demo", version: "1.0.0" }, strategy: "fenced" });
    expect(extractContract(text, hasOutcome)).toEqual({
      value: { outcome: "COMPLETE" },
      strategy: "trailing-braces",
    });
    // Nothing accepted: the first candidate is returned so the caller can say why it is invalid.
    expect(extractContract('{"a": 1}', () => false)).toEqual({ value: { a: 1 }, strategy: "whole" });
  });

  it("the accept predicate also picks among several fenced blocks", () => {
    const text = [fence('{"outcome": "COMPLETE"}'), fence('{"other": true}')].join("\n");
    expect(extractFenced(text, (v) => "outcome" in v)).toEqual({ outcome: "COMPLETE" });
  });
});

describe("edge cases", () => {
  it("returns undefined for empty, blank and JSON-free text", () => {
    expect(extractContract("")).toBeUndefined();
    expect(extractContract("   \n\t ")).toBeUndefined();
    expect(extractContract("\ufeff")).toBeUndefined();
    expect(extractContract("I did the work but forgot the JSON.")).toBeUndefined();
    expect(extractContract("{ not json at all }")).toBeUndefined();
  });

  it("keeps unicode and emoji intact, in values and in the prose around them", () => {
    const value = { outcome: "COMPLETE", summary: "Готово ✅ — 日本語 🎉👩‍💻 {ok}", clé: "valeur" };
    const text = `Résumé 🚀 {curly} prose.\n${JSON.stringify(value)}\nFin 🎉`;
    expect(extractContract(text)).toEqual({ value, strategy: "trailing-braces" });
    expect(extractContract(fence(JSON.stringify(value, null, 2)))?.value).toEqual(value);
    expect(extractContract('{"s": "\\ud83d\\ude00"}')?.value).toEqual({ s: "😀" });
  });

  it("handles a megabyte of prose quickly", () => {
    const prose = 'The agent thought about {things} and wrote "quotes" here. '.repeat(20_000);
    expect(prose.length).toBeGreaterThan(1_000_000);
    const started = performance.now();
    expect(extractContract(`${prose}\n{"outcome": "COMPLETE"}`)).toEqual({
      value: { outcome: "COMPLETE" },
      strategy: "trailing-braces",
    });
    expect(extractContract(prose)).toBeUndefined();
    expect(extractContract(`${prose}\n${fence('{"outcome": "COMPLETE"}')}\n${prose}`)?.strategy).toBe(
      "fenced",
    );
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it("stays bounded on adversarial input", () => {
    const started = performance.now();
    expect(extractContract("}".repeat(1_000_000))).toBeUndefined();
    expect(extractContract("{".repeat(1_000_000))).toBeUndefined();
    expect(extractContract('{"a":'.repeat(100_000) + "}".repeat(100_000))).toBeUndefined();
    expect(extractContract("```\n".repeat(100_000))).toBeUndefined();
    expect(performance.now() - started).toBeLessThan(3_000);
  });

  it("handles a large contract", () => {
    const value = {
      outcome: "COMPLETE",
      files: Array.from({ length: 20_000 }, (_, i) => ({ path: `src/f${i}.ts`, note: "{}" })),
    };
    expect(extractContract(`Done.\n${JSON.stringify(value)}`)?.value).toEqual(value);
  });
});
