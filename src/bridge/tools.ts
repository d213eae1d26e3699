/**
 * The conductor bridge's MCP tools (FEATURES G3): delegate_task, task_status, list_sandboxes and
 * abort_task. The bridge is a client of the sandbox: every task goes through the executor, which
 * starts a hardened sandbox for it; nothing here reaches the agent any other way.
 */
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import { OCBOX_VERSION } from "../version.js";
import type { TaskRegistry } from "./task-registry.js";

export interface BridgeContext {
  registry: TaskRegistry;
  /** Rows of `ocbox ls`: ids, URLs, state, uptime; no passwords. */
  listSandboxes(): Promise<unknown[]>;
}

const json = (data: unknown, isError = false): CallToolResult => ({
  content: [{ type: "text", text: JSON.stringify(data, null, 2) }],
  structuredContent: { data },
  ...(isError ? { isError: true } : {}),
});

export const BRIDGE_TOOLS = ["delegate_task", "task_status", "list_sandboxes", "abort_task"] as const;

/** A fresh MCP server over the shared registry (one per HTTP request, or one for stdio). */
export function createBridgeServer(ctx: BridgeContext): McpServer {
  const server = new McpServer({ name: "ocbox-bridge", version: OCBOX_VERSION });

  server.registerTool(
    "delegate_task",
    {
      description:
        "Run a task with the project's sandboxed OpenCode agent (a fresh hardened sandbox on the project's " +
        "workspace) and return its TaskResult: outcome COMPLETE | NEEDS_INFO | ERROR, the Agent Contract, " +
        "failure reason and hint, tokens, timings. With wait=false it returns the task id at once; poll task_status.",
      inputSchema: {
        prompt: z.string().min(1).describe("What the agent should do."),
        role: z.string().optional().describe("A role from the project's ocbox.yaml `roles`."),
        model: z.string().optional().describe("provider/model; overrides the role and the config."),
        wait: z.boolean().optional().describe("Wait for the result (default true)."),
      },
    },
    async (args, extra) => {
      const { task, finished } = ctx.registry.start({
        prompt: args.prompt,
        ...(args.role ? { role: args.role } : {}),
        ...(args.model ? { model: args.model } : {}),
      });
      if (args.wait === false) return json({ taskId: task.id, status: task.status });
      // A client that cancels the call aborts the task too.
      const onCancel = () => void ctx.registry.abort(task.id);
      extra.signal.addEventListener("abort", onCancel, { once: true });
      const progressToken = extra._meta?.progressToken;
      let beat = 0;
      const heartbeat =
        progressToken === undefined
          ? undefined
          : setInterval(() => {
              beat++;
              extra
                .sendNotification({
                  method: "notifications/progress",
                  params: { progressToken, progress: beat, message: `task ${task.id} running` },
                })
                .catch(() => undefined);
            }, 10_000);
      try {
        const ended = await finished;
        if (ended.result) return json({ taskId: ended.id, status: ended.status, ...ended.result });
        return json({ taskId: ended.id, status: ended.status, error: ended.error }, true);
      } finally {
        if (heartbeat) clearInterval(heartbeat);
        extra.signal.removeEventListener("abort", onCancel);
      }
    },
  );

  server.registerTool(
    "task_status",
    {
      description: "The state of one delegated task (with its TaskResult once ended), or of all of them.",
      inputSchema: { taskId: z.string().optional().describe("Omit for every task of this bridge.") },
    },
    (args) => {
      if (args.taskId === undefined) return json({ tasks: ctx.registry.list() });
      const task = ctx.registry.get(args.taskId);
      return task ? json(task) : json({ error: `no task ${args.taskId} in this bridge` }, true);
    },
  );

  server.registerTool(
    "list_sandboxes",
    { description: "The ocbox sandboxes running on this engine: id, project, URL, state, uptime." },
    async () => json({ sandboxes: await ctx.listSandboxes() }),
  );

  server.registerTool(
    "abort_task",
    {
      description: "Abort a running delegated task; its sandbox is removed.",
      inputSchema: { taskId: z.string() },
    },
    async (args) => {
      const task = await ctx.registry.abort(args.taskId);
      return task ? json(task) : json({ error: `no task ${args.taskId} in this bridge` }, true);
    },
  );
  return server;
}
