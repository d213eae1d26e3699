/**
 * The Agent Contract (FEATURES E2): the JSON object an agent's final answer must be.
 *
 * Every role shares `outcome` (`COMPLETE` | `NEEDS_INFO` | `ERROR`) and the optional `summary`,
 * `questions` (what the agent needs answered, for `NEEDS_INFO`) and `error` (what went wrong, for
 * `ERROR`). A role adds its own fields with {@link contractSchemaFor}. Unknown keys are kept, not
 * rejected: a model that adds a field should not cost a retry.
 *
 * The same zod schema serves both ways of getting the object:
 * - wire-enforced: {@link contractJsonSchema} is passed to OpenCode as
 *   `format: {type: "json_schema", schema}`. OpenCode does not validate what comes back, so the
 *   payload still goes through {@link validateContract}.
 * - prompt-engineered: {@link instructionBlock} is appended to the prompt, and {@link parseOutcome}
 *   extracts (see `extract.ts`) and validates the object from the final text.
 */
import { z } from "zod";
import { extractContract } from "./extract.js";
import type { ExtractionStrategy, JsonObject } from "./extract.js";

export const OUTCOMES = ["COMPLETE", "NEEDS_INFO", "ERROR"] as const;
export const Outcome = z.enum(OUTCOMES);
export type Outcome = z.infer<typeof Outcome>;

export const baseContractSchema = z.looseObject({
  outcome: Outcome.describe(
    "COMPLETE when the task is done; NEEDS_INFO when you cannot go on without answers (list them in " +
      "questions); ERROR when the task cannot be done (say why in error).",
  ),
  summary: z.string().describe("What you did and found, in a few sentences.").optional(),
  questions: z.array(z.string()).describe("For NEEDS_INFO: the questions that must be answered.").optional(),
  error: z.string().describe("For ERROR: what went wrong.").optional(),
});

/** Alias of {@link baseContractSchema}. */
export const baseContract = baseContractSchema;

export type BaseContract = z.infer<typeof baseContractSchema>;

/** Any schema whose output is at least the base contract. */
export type ContractSchema<T extends BaseContract = BaseContract> = z.ZodType<T>;

/** The base contract merged with a role's own fields; a role field of the same name replaces the base one. */
export function contractSchemaFor(): typeof baseContractSchema;
export function contractSchemaFor<S extends z.ZodRawShape>(
  extra: z.ZodObject<S>,
): ReturnType<typeof baseContractSchema.extend<S>>;
export function contractSchemaFor<S extends z.ZodRawShape>(
  extra?: z.ZodObject<S>,
): typeof baseContractSchema | ReturnType<typeof baseContractSchema.extend<S>>;
export function contractSchemaFor<S extends z.ZodRawShape>(extra?: z.ZodObject<S>) {
  return extra ? baseContractSchema.extend(extra.shape) : baseContractSchema;
}

export type ValidationResult<T> = { ok: true; contract: T } | { ok: false; issues: string[] };

/** Validates a parsed value (a structured-output payload or an extracted object) against a contract schema. */
export function validateContract<T extends BaseContract>(
  value: unknown,
  schema: ContractSchema<T>,
): ValidationResult<T> {
  const result = schema.safeParse(value);
  if (result.success) return { ok: true, contract: result.data };
  return { ok: false, issues: formatIssues(result.error, value) };
}

/**
 * One readable line per issue: `questions[1]: Invalid input: expected string, received number`. With
 * the validated value, a key that is absent reads `outcome: missing (expected …)`.
 */
export function formatIssues(error: z.ZodError, input?: unknown): string[] {
  return error.issues.map((issue) => `${formatPath(issue.path)}: ${issueMessage(issue, input)}`);
}

function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return "(top level)";
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else out += out === "" ? String(key) : `.${String(key)}`;
  }
  return out;
}

function issueMessage(issue: z.core.$ZodIssue, input: unknown): string {
  if (issue.path.length === 0 || !isAbsent(input, issue.path)) return issue.message;
  if (issue.code === "invalid_type") return `missing (expected ${issue.expected})`;
  if (issue.code === "invalid_value")
    return `missing (expected one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")})`;
  return `missing (${issue.message})`;
}

/** True when the last key of `path` is not present in the value the path leads to. */
function isAbsent(input: unknown, path: readonly PropertyKey[]): boolean {
  let current: unknown = input;
  for (const [i, key] of path.entries()) {
    if (typeof current !== "object" || current === null) return false;
    if (!Object.hasOwn(current, key)) return i === path.length - 1;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return false;
}

/**
 * The JSON Schema for OpenCode structured output (`format: {type: "json_schema", schema}`). It
 * describes what the model must produce, so it uses the schema's input side, and it drops `$schema`,
 * which some providers reject inside tool parameters.
 */
export function contractJsonSchema(schema: ContractSchema): Record<string, unknown> {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" });
  return rest;
}

export interface InstructionOptions {
  /**
   * For a re-prompt after a malformed answer: say that the previous answer could not be used and,
   * when given, why.
   */
  retry?: { issues?: readonly string[] };
}

/**
 * The text appended to a prompt when structured output is not used: end with one fenced ```json
 * block that matches the schema, which is included.
 */
export function instructionBlock(schema: ContractSchema, options: InstructionOptions = {}): string {
  const lines = ["## Final answer format", ""];
  if (options.retry) {
    lines.push(
      "Your previous reply could not be used: it did not end with a JSON object matching the schema below.",
    );
    const issues = options.retry.issues ?? [];
    if (issues.length > 0) lines.push("Problems found:", ...issues.map((issue) => `- ${issue}`));
    lines.push("Reply again, and this time follow the format exactly.", "");
  }
  lines.push(
    "When you are done, end your reply with exactly one fenced ```json block holding a single JSON object " +
      "that matches the JSON Schema below. Put nothing after the block.",
    "",
    '- "outcome" is required: "COMPLETE", "NEEDS_INFO" or "ERROR".',
    '- For NEEDS_INFO, list what you need answered in "questions". For ERROR, say what went wrong in "error".',
    "- Use plain JSON: double quotes, no comments, no trailing commas.",
    "",
    "JSON Schema:",
    "",
    "```json",
    JSON.stringify(contractJsonSchema(schema), null, 2),
    "```",
  );
  return lines.join("\n");
}

export type ParseFailureReason = "empty" | "no-json" | "invalid";

export type ParseOutcome<T> =
  | { ok: true; contract: T; strategy: ExtractionStrategy }
  | {
      ok: false;
      reason: ParseFailureReason;
      /** Readable text for a log or for a re-prompt. */
      message: string;
      /** Validation issues, for `invalid`. */
      issues: string[];
      /** The object that was found but did not validate, for `invalid`. */
      value?: JsonObject;
      strategy?: ExtractionStrategy;
    };

/**
 * Extracts and validates the contract from an agent's final text. The search prefers an object that
 * validates, so an example or a config file shown next to the answer does not hide it; when none
 * validates, the issues are those of the object the strategies find first.
 */
export function parseOutcome<T extends BaseContract>(
  text: string,
  schema: ContractSchema<T>,
): ParseOutcome<T> {
  if (text.trim() === "") {
    return { ok: false, reason: "empty", message: "the agent's final output is empty", issues: [] };
  }
  const found = extractContract(text, (value) => schema.safeParse(value).success);
  if (!found) {
    return {
      ok: false,
      reason: "no-json",
      message: "no JSON object found in the agent's final output",
      issues: [],
    };
  }
  const validated = validateContract(found.value, schema);
  if (validated.ok) return { ok: true, contract: validated.contract, strategy: found.strategy };
  return {
    ok: false,
    reason: "invalid",
    message: `the JSON object found (${found.strategy}) does not match the contract: ${validated.issues.join("; ")}`,
    issues: validated.issues,
    value: found.value,
    strategy: found.strategy,
  };
}
