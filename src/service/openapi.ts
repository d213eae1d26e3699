/**
 * The OpenAPI 3.1 document of `ocbox serve`, generated from the zod schemas (zod's own JSON Schema
 * output, draft 2020-12 as OpenAPI 3.1 uses), served at GET /openapi.json. Pure.
 *
 * The committed copy is `schema/serve.openapi.json`; refresh it with
 * `OCBOX_WRITE_SCHEMA=1 npx vitest run --project unit test/unit/service-request.test.ts`.
 */
import { z } from "zod";
import { OCBOX_VERSION } from "../version.js";
import { VERSION_HEADER } from "./protocol.js";
import { taskRequestSchema } from "./task-request.js";

export const OPENAPI_FILE = "schema/serve.openapi.json";
export { VERSION_HEADER } from "./protocol.js";

const taskResultSchema = z
  .looseObject({
    outcome: z.enum(["COMPLETE", "NEEDS_INFO", "ERROR"]),
    contract: z.record(z.string(), z.unknown()).nullable(),
    failureReason: z
      .string()
      .nullable()
      .describe("MALFORMED_OUTPUT, TIMEOUT, INACTIVITY, RATE_LIMIT, MODEL, INFRASTRUCTURE …"),
    hint: z.string().nullable(),
    attempts: z.number(),
    sandbox: z.enum(["warm", "cold", "none"]),
    timings: z.looseObject({ queued: z.number(), sandbox: z.number(), agent: z.number(), total: z.number() }),
  })
  .describe("The TaskResult, as `ocbox run --json` prints it.");

const errorObject = z.object({
  code: z.string(),
  message: z.string(),
  fix: z.string().nullable(),
  detail: z.string().nullable().optional().describe("Supporting text (a log's tail, the files and keys)."),
});

const taskSchema = z.object({
  id: z.string(),
  status: z.enum(["running", "done", "aborted", "failed"]),
  prompt: z.string().describe("The prompt's first 200 characters."),
  startedAt: z.string(),
  endedAt: z.string().nullable(),
  result: taskResultSchema.nullable(),
  exitCode: z.number().nullable().describe("`ocbox run`'s exit code for this task."),
  error: errorObject.nullable(),
});

const errorSchema = z.object({ error: errorObject });

const statusSchema = z.object({
  version: z.string(),
  pid: z.number(),
  startedAt: z.string(),
  tasks: z.object({ running: z.number(), total: z.number() }),
  pools: z.record(z.string(), z.object({ max: z.number(), inUse: z.number(), queued: z.number() })),
  warm: z.object({
    perProfile: z.number(),
    memoryBudgetBytes: z.number(),
    diskBudgetBytes: z.number(),
    diskPerSandboxBytes: z.number().describe("The disk each warm sandbox is counted at."),
    ready: z.number(),
    profiles: z.number(),
    used: z
      .object({ sandboxes: z.number(), memoryBytes: z.number(), diskBytes: z.number() })
      .describe("What the warm sandboxes ready or starting hold of the budget."),
  }),
});

const json = (schema: z.ZodType, io: "input" | "output" = "output") =>
  z.toJSONSchema(schema, { io, target: "draft-2020-12", unrepresentable: "any" });

const content = (ref: string) => ({
  "application/json": { schema: { $ref: `#/components/schemas/${ref}` } },
});
const ok = (ref: string, description: string) => ({ description, content: content(ref) });
const failure = { description: "An error, with its code, message and fix.", content: content("Error") };
const idParam = [{ name: "id", in: "path", required: true, schema: { type: "string" } }];

const attachParam = {
  name: "attach",
  in: "query",
  required: false,
  schema: { type: "string", enum: ["1"] },
  description:
    "1: answer with the task's event stream (`event: started` with the Task, then as GET /v1/tasks/{id}/events); closing it before `event: end` aborts the task (how `ocbox run` hands its task over)",
};

function paths(): Record<string, unknown> {
  const errors = { "400": failure, "401": failure, "404": failure, "409": failure, "503": failure };
  return {
    "/v1/status": {
      get: {
        summary: "The service: version, tasks, pools, warm sandboxes",
        responses: { "200": ok("Status", "status"), ...errors },
      },
    },
    "/v1/tasks": {
      get: {
        summary: "List tasks",
        responses: {
          "200": {
            description: "tasks",
            content: {
              "application/json": { schema: { type: "array", items: { $ref: "#/components/schemas/Task" } } },
            },
          },
        },
      },
      post: {
        summary: "Start a task (the options of `ocbox run`)",
        parameters: [attachParam],
        requestBody: { required: true, content: content("TaskRequest") },
        responses: {
          "200": {
            description: "with attach=1: the task's event stream",
            content: { "text/event-stream": { schema: { type: "string" } } },
          },
          "202": ok("Task", "started"),
          ...errors,
        },
      },
    },
    "/v1/tasks/{id}": {
      get: {
        summary: "A task",
        parameters: idParam,
        responses: { "200": ok("Task", "the task"), ...errors },
      },
    },
    "/v1/tasks/{id}/result": {
      get: {
        summary: "Wait until the task ends, then return it (its TaskResult in `result`)",
        parameters: idParam,
        responses: { "200": ok("Task", "the ended task"), ...errors },
      },
    },
    "/v1/tasks/{id}/events": {
      get: {
        summary:
          "The task's events as Server-Sent Events: `event: task` (phase, message) …, then `event: end` (the Task)",
        parameters: idParam,
        responses: {
          "200": {
            description: "an event stream",
            content: { "text/event-stream": { schema: { type: "string" } } },
          },
          ...errors,
        },
      },
    },
    "/v1/tasks/{id}/abort": {
      post: {
        summary: "Abort the task; returns once its sandbox is removed",
        parameters: idParam,
        responses: { "200": ok("Task", "the ended task"), ...errors },
      },
    },
    "/v1/shutdown": {
      post: {
        summary: "Stop the service (`ocbox serve stop`)",
        responses: { "202": { description: "stopping" }, ...errors },
      },
    },
  };
}

export function openapiDocument(): Record<string, unknown> {
  return {
    openapi: "3.1.0",
    info: {
      title: "ocbox serve",
      version: OCBOX_VERSION,
      description: `The local task service. Every request needs \`Authorization: Bearer <token>\` (the token file is in the state dir: $XDG_STATE_HOME/ocbox/serve/token, 0600). A client may send \`${VERSION_HEADER}\`; a different version than the service's is refused (409).`,
    },
    servers: [{ url: "http://127.0.0.1:{port}", variables: { port: { default: "0" } } }],
    security: [{ bearer: [] }],
    paths: paths(),
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
      schemas: {
        TaskRequest: json(taskRequestSchema, "input"),
        Task: json(taskSchema),
        Status: json(statusSchema),
        Error: json(errorSchema),
      },
    },
  };
}

export function openapiText(): string {
  return `${JSON.stringify(openapiDocument(), null, 2)}\n`;
}
