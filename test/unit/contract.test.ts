import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  baseContractSchema,
  contractJsonSchema,
  contractSchemaFor,
  instructionBlock,
  parseOutcome,
  validateContract,
} from "../../src/executor/contract.js";
import { extractFenced } from "../../src/executor/extract.js";

const reviewer = contractSchemaFor(
  z.object({
    verdict: z.enum(["approve", "reject"]),
    findings: z.array(z.object({ file: z.string(), line: z.number().int() })).optional(),
  }),
);

describe("contract schema", () => {
  it("accepts each outcome with the optional fields, and keeps unknown keys", () => {
    const base = contractSchemaFor();
    expect(validateContract({ outcome: "COMPLETE", summary: "ok", extra: 1 }, base)).toEqual({
      ok: true,
      contract: { outcome: "COMPLETE", summary: "ok", extra: 1 },
    });
    expect(validateContract({ outcome: "NEEDS_INFO", questions: ["a?", "b?"] }, base).ok).toBe(true);
    expect(validateContract({ outcome: "ERROR", error: "cannot" }, base).ok).toBe(true);
  });

  it("reports readable issues with paths", () => {
    const result = validateContract(
      { outcome: "DONE", questions: ["ok", 3], summary: 5 },
      baseContractSchema,
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues).toEqual([
      'outcome: Invalid option: expected one of "COMPLETE"|"NEEDS_INFO"|"ERROR"',
      "summary: Invalid input: expected string, received number",
      "questions[1]: Invalid input: expected string, received number",
    ]);
  });

  it("says when a required field is missing, and when the value is not an object", () => {
    const missing = validateContract({}, baseContractSchema);
    expect(missing).toEqual({
      ok: false,
      issues: ['outcome: missing (expected one of "COMPLETE", "NEEDS_INFO", "ERROR")'],
    });
    const nested = validateContract(
      { outcome: "COMPLETE", verdict: "approve", findings: [{ file: "a.ts" }] },
      reviewer,
    );
    expect(nested).toEqual({ ok: false, issues: ["findings[0].line: missing (expected number)"] });
    const array = validateContract([], baseContractSchema);
    expect(array.ok).toBe(false);
    if (!array.ok) expect(array.issues[0]).toMatch(/^\(top level\): .*expected object/);
  });

  it("merges role fields and validates them", () => {
    expect(validateContract({ outcome: "COMPLETE", verdict: "approve" }, reviewer).ok).toBe(true);
    const bad = validateContract(
      { outcome: "COMPLETE", verdict: "maybe", findings: [{ file: "a.ts", line: 1.5 }] },
      reviewer,
    );
    expect(bad.ok).toBe(false);
    if (bad.ok) return;
    expect(bad.issues).toHaveLength(2);
    expect(bad.issues[0]).toMatch(/^verdict: /);
    expect(bad.issues[1]).toMatch(/^findings\[0\]\.line: /);
    expect(validateContract({ outcome: "COMPLETE" }, reviewer)).toEqual({
      ok: false,
      issues: ['verdict: missing (expected one of "approve", "reject")'],
    });
  });

  it("gives a typed contract", () => {
    const result = validateContract({ outcome: "COMPLETE", verdict: "reject" }, reviewer);
    if (!result.ok) throw new Error("expected ok");
    const verdict: "approve" | "reject" = result.contract.verdict;
    expect(verdict).toBe("reject");
  });
});

describe("JSON Schema for structured output", () => {
  it("describes the base contract without $schema", () => {
    const schema = contractJsonSchema(baseContractSchema);
    expect(schema["$schema"]).toBeUndefined();
    expect(schema).toMatchObject({
      type: "object",
      required: ["outcome"],
      properties: {
        outcome: { type: "string", enum: ["COMPLETE", "NEEDS_INFO", "ERROR"] },
        summary: { type: "string" },
        questions: { type: "array", items: { type: "string" } },
        error: { type: "string" },
      },
    });
    expect(JSON.stringify(schema)).toContain("NEEDS_INFO when you cannot go on");
  });

  it("includes role fields, required ones in required", () => {
    const schema = contractJsonSchema(reviewer);
    expect(schema["required"]).toEqual(["outcome", "verdict"]);
    expect(schema).toMatchObject({
      properties: { verdict: { enum: ["approve", "reject"] }, findings: { type: "array" } },
    });
  });
});

describe("instruction block", () => {
  it("asks for one fenced json block and includes the schema", () => {
    const block = instructionBlock(reviewer);
    expect(block).toContain("exactly one fenced ```json block");
    expect(block).toContain('"verdict"');
    expect(block).not.toContain("previous reply");
    // The embedded schema is itself a fenced json block that parses back to the schema.
    expect(extractFenced(block)).toEqual(contractJsonSchema(reviewer));
  });

  it("a retry block says why the previous reply failed", () => {
    const block = instructionBlock(baseContractSchema, { retry: { issues: ["outcome: missing"] } });
    expect(block).toContain("Your previous reply could not be used");
    expect(block).toContain("- outcome: missing");
  });

  it("the block does not itself validate as a contract (an echo of the prompt is not an answer)", () => {
    expect(parseOutcome(instructionBlock(baseContractSchema), baseContractSchema).ok).toBe(false);
  });
});

describe("parseOutcome", () => {
  it("extracts and validates, naming the strategy", () => {
    const text = 'All done.\n```json\n{"outcome": "COMPLETE", "verdict": "approve"}\n```';
    expect(parseOutcome(text, reviewer)).toEqual({
      ok: true,
      contract: { outcome: "COMPLETE", verdict: "approve" },
      strategy: "fenced",
    });
    expect(parseOutcome('{"outcome": "ERROR", "error": "x"}', baseContractSchema)).toMatchObject({
      ok: true,
      strategy: "whole",
    });
    expect(parseOutcome('Done: {"outcome": "COMPLETE"} bye', baseContractSchema)).toMatchObject({
      ok: true,
      strategy: "trailing-braces",
    });
  });

  it("tells empty output from no JSON from invalid JSON", () => {
    expect(parseOutcome("  \n", baseContractSchema)).toMatchObject({ ok: false, reason: "empty" });
    expect(parseOutcome("I fixed it, trust me.", baseContractSchema)).toMatchObject({
      ok: false,
      reason: "no-json",
      issues: [],
    });
    const invalid = parseOutcome('```json\n{"outcome": "FINISHED"}\n```', baseContractSchema);
    expect(invalid).toMatchObject({
      ok: false,
      reason: "invalid",
      strategy: "fenced",
      value: { outcome: "FINISHED" },
    });
    if (invalid.ok) return;
    expect(invalid.issues[0]).toMatch(/^outcome: /);
    expect(invalid.message).toContain("does not match the contract");
  });

  it("prefers a valid object over a later one that is not the contract", () => {
    const text = [
      '```json\n{"outcome": "COMPLETE", "verdict": "approve"}\n```',
      "The tsconfig I used:",
      '```json\n{"compilerOptions": {"strict": true}}\n```',
    ].join("\n");
    expect(parseOutcome(text, reviewer)).toMatchObject({
      ok: true,
      contract: { verdict: "approve" },
      strategy: "fenced",
    });
  });

  it("reports the issues of the first object found when none validates", () => {
    const text = '{"outcome": "COMPLETE"}\n```json\n{"outcome": "COMPLETE", "verdict": 1}\n```';
    const result = parseOutcome(text, reviewer);
    expect(result).toMatchObject({ ok: false, reason: "invalid", strategy: "fenced" });
    if (!result.ok)
      expect(result.issues).toEqual(['verdict: Invalid option: expected one of "approve"|"reject"']);
  });

  it("validates a NEEDS_INFO answer with unicode questions", () => {
    const text = 'Je bloque.\n{"outcome": "NEEDS_INFO", "questions": ["Quel port ? 🤔", "Which {env}?"]}';
    expect(parseOutcome(text, baseContractSchema)).toMatchObject({
      ok: true,
      contract: { outcome: "NEEDS_INFO", questions: ["Quel port ? 🤔", "Which {env}?"] },
    });
  });
});
