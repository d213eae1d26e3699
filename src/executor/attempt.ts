/**
 * What one prompt attempt produced, judged: a valid contract (and how it was obtained), output
 * that is not a valid contract, a classified provider failure, or an abort. Pure.
 */
import type { PromptOutcome } from "../opencode/prompt.js";
import { parseOutcome, validateContract, type BaseContract, type ContractSchema } from "./contract.js";
import { classifyFailure, type ClassifyOptions, type FailureHint } from "./hints.js";

export type Verdict =
  | { kind: "contract"; contract: BaseContract; via: "structured-output" | "extraction" }
  | {
      kind: "malformed";
      raw: string;
      message: string;
      issues: string[];
      /** The model ignored the StructuredOutput tool: later attempts use the instruction block. */
      structuredRefused: boolean;
    }
  | { kind: "failure"; hint: FailureHint }
  | { kind: "aborted" };

export type AttemptOutput = Pick<PromptOutcome, "text" | "structured" | "error" | "rawError">;

export function judgeAttempt(
  output: AttemptOutput,
  schema: ContractSchema,
  options: ClassifyOptions = {},
): Verdict {
  const error = output.error;
  if (error?.name === "MessageAbortedError") return { kind: "aborted" };
  const structuredRefused = error?.name === "StructuredOutputError";
  if (error && !structuredRefused) {
    const hint = classifyFailure(output.rawError ?? error, options) ?? {
      kind: "MODEL",
      fatal: false,
      reason: "MODEL",
      hint: `The model call failed (${error.name}: ${error.message.slice(0, 300)}). It is retried; if it persists, check the model and its server.`,
      matched: error.name,
    };
    return { kind: "failure", hint };
  }
  if (output.structured !== undefined && output.structured !== null) {
    const validated = validateContract(output.structured, schema);
    if (validated.ok) return { kind: "contract", contract: validated.contract, via: "structured-output" };
    return {
      kind: "malformed",
      raw: JSON.stringify(output.structured),
      message: `the structured output does not match the contract: ${validated.issues.join("; ")}`,
      issues: validated.issues,
      structuredRefused: false,
    };
  }
  const parsed = parseOutcome(output.text, schema);
  if (parsed.ok) return { kind: "contract", contract: parsed.contract, via: "extraction" };
  return {
    kind: "malformed",
    raw: output.text,
    message: parsed.message,
    issues: parsed.issues,
    structuredRefused,
  };
}
