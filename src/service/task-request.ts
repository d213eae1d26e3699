/**
 * The body of `POST /v1/tasks`: the options of `ocbox run`, plus what the client resolved in its
 * own environment (its cwd, the environment the env rules read). The service never reads its own
 * environment for a task. Validated with zod; a bad field is a USAGE error naming it. Pure.
 */
import { isAbsolute, resolve } from "node:path";
import { z } from "zod";
import { formatZodIssues } from "../config/zod-errors.js";
import { OcboxError } from "../errors.js";
import type { RunTaskOptions } from "../executor/prepare.js";

const seconds = z.number().positive().describe("seconds");

export const taskRequestSchema = z
  .strictObject({
    cwd: z
      .string()
      .refine(isAbsolute, "must be an absolute path")
      .describe(
        "The client's working directory: relative paths (workspace, promptFile, workflow) resolve here.",
      ),
    workspace: z.string().min(1).describe("The task's workspace (edited in place), as `ocbox run -w`."),
    prompt: z.string().min(1).optional().describe("The task (or promptFile)."),
    promptFile: z.string().min(1).optional().describe("A file with the task, read by the service."),
    role: z.string().min(1).optional().describe("A role from the workflow's roles:."),
    model: z
      .string()
      .regex(/^[^/\s]+\/\S+$/, "must be provider/model")
      .optional(),
    workflow: z.string().min(1).optional().describe("A file with roles:, pools: and executor:."),
    taskId: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, "must be 1-63 letters, digits, '.', '_' or '-'")
      .optional(),
    timeout: seconds.optional().describe("Hard cap in seconds (default 7200)."),
    inactivity: z
      .union([seconds, z.literal(0)])
      .optional()
      .describe("Seconds without agent activity before the task ends (default 1200; 0 disables)."),
    permissions: z.enum(["reject", "autonomous"]).optional(),
    retries: z.number().int().min(0).optional(),
    structuredOutput: z.boolean().optional(),
    structurer: z.boolean().optional(),
    copy: z
      .boolean()
      .optional()
      .describe("As `ocbox run --copy`: copy the workspace in and sync the work back."),
    approveConfig: z
      .boolean()
      .optional()
      .describe("As `ocbox run --approve-config`: approve and record the workspace's config files."),
    env: z
      .record(z.string(), z.string())
      .optional()
      .describe("The client's environment as the env rules read it (names and values); default none."),
  })
  .refine((b) => (b.prompt === undefined) !== (b.promptFile === undefined), {
    message: "give exactly one of prompt and promptFile",
    path: ["prompt"],
  });

export type TaskRequestBody = z.infer<typeof taskRequestSchema>;

/** The parsed body, or a USAGE error naming each bad field. */
export function parseTaskRequest(body: unknown): TaskRequestBody {
  const parsed = taskRequestSchema.safeParse(body);
  if (parsed.success) return parsed.data;
  throw new OcboxError("USAGE", `bad task request:\n${formatZodIssues(parsed.error)}`, {
    fix: "See GET /openapi.json (TaskRequest) for the fields; the error names each one.",
  });
}

/** runTask's options from a request: every path is resolved against the client's cwd. */
export function taskOptionsFromRequest(body: TaskRequestBody): RunTaskOptions {
  const at = (p: string) => resolve(body.cwd, p);
  return {
    entry: "service",
    workspace: at(body.workspace),
    ...(body.prompt !== undefined ? { prompt: body.prompt } : {}),
    ...(body.promptFile !== undefined ? { promptFile: at(body.promptFile) } : {}),
    ...(body.role ? { role: body.role } : {}),
    ...(body.model ? { model: body.model } : {}),
    ...(body.workflow ? { workflowFile: at(body.workflow) } : {}),
    ...(body.taskId ? { taskId: body.taskId } : {}),
    ...(body.approveConfig ? { approveConfig: true } : {}),
    ...(body.copy ? { copy: true } : {}),
    ...(body.retries !== undefined ? { maxRetriesOnMalformedOutput: body.retries } : {}),
    ...(body.permissions ? { permissions: body.permissions } : {}),
    timeouts: {
      ...(body.timeout !== undefined ? { hardS: body.timeout } : {}),
      ...(body.inactivity !== undefined
        ? { inactivityS: body.inactivity === 0 ? null : body.inactivity }
        : {}),
    },
    structuredOutput: body.structuredOutput ?? true,
    structurer: { enabled: body.structurer ?? true },
    hostEnv: body.env ?? {},
  };
}
