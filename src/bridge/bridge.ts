/**
 * `ocbox bridge` as a library call: the conductor bridge for the project around `cwd`. Tasks run
 * through `runTask` on the project's workspace, so each gets its own hardened sandbox with the
 * project's egress and limits; the bridge only forwards prompts and results.
 */
import type { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { approvedTaskInputs, runTask, type RunTaskOptions } from "../executor/prepare.js";
import type { Engine } from "../runtime/engine.js";
import { listSandboxes } from "../project/sandbox-list.js";
import { openProject } from "../project/up.js";
import { startBridgeHttp, type BridgeHttp } from "./http.js";
import { TaskRegistry, type TaskRunner } from "./task-registry.js";
import { ensureBridgeToken } from "./token.js";
import { createBridgeServer, type BridgeContext } from "./tools.js";

export interface BridgeOptions {
  cwd: string;
  engine: Engine;
  env?: NodeJS.ProcessEnv;
  /** Extra runTask options for every task (library users and tests: an OpenCode config, pools). */
  taskOptions?: Partial<RunTaskOptions>;
  /** `--approve-config`: approve (and record) the project's ocbox.yaml and opencode.json(c) for its tasks. */
  approveConfig?: boolean;
}

export interface Bridge {
  projectRoot: string;
  sandboxId: string;
  stateDir: string;
  registry: TaskRegistry;
  context: BridgeContext;
  /** Serve streamable HTTP on 127.0.0.1; returns the URL and where the token is. */
  serveHttp(port?: number): Promise<BridgeHttp & { tokenFile: string }>;
  /** Serve over stdin/stdout until the client goes away. */
  serveStdio(transport: StdioServerTransport): Promise<void>;
  /** Abort the tasks still running. */
  close(): Promise<void>;
}

export async function openBridge(options: BridgeOptions): Promise<Bridge> {
  const { project, state } = await openProject(options.cwd, options.env ?? process.env);
  const approval = options.approveConfig ? { approveConfig: true } : {};
  // Stop before serving (exit 2) when the project's files are not approved; each task checks again.
  await approvedTaskInputs({ ...options.taskOptions, ...approval, entry: "bridge", workspace: project.root });
  const runner: TaskRunner = (input, signal) =>
    runTask({
      ...options.taskOptions,
      ...approval,
      entry: "bridge",
      workspace: project.root,
      prompt: input.prompt,
      ...(input.role ? { role: input.role } : {}),
      ...(input.model ? { model: input.model } : {}),
      engine: options.engine,
      signal,
    });
  const registry = new TaskRegistry(runner);
  const context: BridgeContext = { registry, listSandboxes: () => listSandboxes(options.engine) };
  return {
    projectRoot: project.root,
    sandboxId: project.sandboxId,
    stateDir: state.dir,
    registry,
    context,
    serveHttp: async (port) => {
      const { token, file } = await ensureBridgeToken(state.dir);
      const http = await startBridgeHttp(() => createBridgeServer(context), {
        token,
        ...(port !== undefined ? { port } : {}),
      });
      return { ...http, tokenFile: file };
    },
    serveStdio: async (transport) => {
      const server = createBridgeServer(context);
      await server.connect(transport);
      await new Promise<void>((resolve) => {
        server.server.onclose = resolve;
        // The client closing our stdin ends the session too.
        process.stdin.once("end", () => void server.close().then(resolve, resolve));
      });
    },
    close: () => registry.abortAll(),
  };
}
