/**
 * The files of a task folder, as data: `requirements.yaml` (what the judge grades) and the
 * optional `task.yaml` (timeout, model, role, check command). Schemas only; task-set.ts reads them.
 */
import { z } from "zod";

export const requirementSchema = z
  .object({
    id: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "use letters, digits, '.', '_' and '-'")
      .describe("Stable id the judge's verdict refers to."),
    description: z.string().min(1).describe("What must hold in the final workspace, in words."),
    weight: z.number().positive().default(1).describe("Relative weight in the task's score; default 1."),
  })
  .strict();
export type Requirement = z.infer<typeof requirementSchema>;

export const requirementsSchema = z
  .array(requirementSchema)
  .min(1, "list at least one requirement")
  .superRefine((list, ctx) => {
    const seen = new Set<string>();
    list.forEach((r, i) => {
      if (seen.has(r.id)) ctx.addIssue({ code: "custom", path: [i, "id"], message: `duplicate id ${r.id}` });
      seen.add(r.id);
    });
  });

export const checkSchema = z
  .object({
    command: z.string().min(1).describe("A shell command run in the sandbox after the agent, in /workspace."),
    timeoutS: z.number().positive().default(300).describe("Cap for the check, seconds; default 300."),
  })
  .strict();

export const taskFileSchema = z
  .object({
    timeoutS: z.number().positive().optional().describe("Hard cap for the agent, seconds."),
    inactivityS: z.number().positive().optional().describe("End the task after this long without activity."),
    model: z
      .string()
      .regex(/^[^/\s]+\/\S+$/, "write it as provider/model")
      .optional()
      .describe("The solver model for this task, overriding --model."),
    role: z.string().min(1).optional().describe("A role from the workflow (ocbox.yaml roles:)."),
    check: z
      .union([
        z
          .string()
          .min(1)
          .transform((command) => ({ command, timeoutS: 300 })),
        checkSchema,
      ])
      .optional()
      .describe("Deterministic verifier; its exit code is recorded in result.json."),
  })
  .strict();
export type TaskFile = z.infer<typeof taskFileSchema>;
