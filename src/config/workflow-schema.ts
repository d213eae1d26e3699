/**
 * The workflow part of ocbox.yaml, used by the task executor (FEATURES E4, E5, E7, E9, E10):
 * roles, concurrency pools, and the executor's recovery and timeout settings. `ocbox run
 * --workflow FILE` reads the same keys from another file.
 */
import { z } from "zod";

const MODEL_REF = /^[^/\s]+\/\S+$/;
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export const SECTION_TYPES = ["string", "string[]", "number", "boolean", "object"] as const;

const modelRef = z
  .string()
  .regex(MODEL_REF, 'write it as provider/model, e.g. "local/qwen"')
  .describe("Model as provider/model; the provider is OpenCode's (built in or configured).");

const timeouts = z
  .strictObject({
    hardS: z.number().positive().optional().describe("Hard wall-clock cap of a task, seconds. Default 7200."),
    inactivityS: z
      .number()
      .positive()
      .nullable()
      .optional()
      .describe("End a task after this many seconds without agent activity; null disables. Default 1200."),
  })
  .describe("Task timeouts.");

export const roleSchema = z
  .strictObject({
    model: modelRef.optional(),
    systemPromptFile: z
      .string()
      .min(1)
      .optional()
      .describe("File with the role's system prompt, relative to the config file."),
    sections: z
      .record(
        z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "use a JSON-friendly field name"),
        z.enum(SECTION_TYPES),
      )
      .optional()
      .describe("Role-specific Agent Contract fields and their types, required in the agent's answer."),
    structuredOutput: z
      .boolean()
      .optional()
      .describe("Ask for wire-enforced structure (OpenCode's StructuredOutput tool). Default true."),
    pool: z.string().regex(NAME).optional().describe("Concurrency pool; default: the model's provider."),
    timeouts: timeouts.optional(),
  })
  .describe("One role of the workflow.");

export const workflowKeys = {
  roles: z
    .record(z.string().regex(NAME, "use letters, digits, _ . -"), roleSchema)
    .optional()
    .describe("Roles by name (E9)."),
  pools: z
    .record(
      z.string().regex(NAME),
      z.strictObject({
        maxConcurrent: z
          .number()
          .int()
          .min(1)
          .describe("Tasks at once on this backend; 1 for a single-slot server."),
      }),
    )
    .optional()
    .describe(
      "Named model backends with a concurrency limit (E10). A pool named after a provider applies to it.",
    ),
  executor: z
    .strictObject({
      maxRetriesOnMalformedOutput: z
        .number()
        .int()
        .min(0)
        .max(10)
        .optional()
        .describe("Re-prompts after unparseable output. Default 2."),
      structurer: z
        .strictObject({
          enabled: z.boolean().optional().describe("Default true."),
          model: modelRef.optional().describe("A fast no-think model; default: the task's model."),
          timeoutS: z.number().positive().optional().describe("Default 180."),
        })
        .optional()
        .describe("One call that extracts the contract from a narrative answer (E5)."),
      rateLimitPatterns: z
        .array(z.string().min(1))
        .optional()
        .describe("Extra rate-limit signatures: substrings, or /regex/flags."),
      timeouts: timeouts.optional(),
    })
    .optional()
    .describe("Task executor settings."),
};

export type RoleConfig = z.output<typeof roleSchema>;
