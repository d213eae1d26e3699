/**
 * `ocbox up` as a library call: find the project, approve and run the pre-start hook, build the
 * images when their inputs changed, and start the sandbox with the project's state, env rules and
 * credentials. A sandbox that is already up is returned as it is (reattach).
 */
import { readFile, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { OcboxError } from "../errors.js";
import { loadProjectConfig, requireProjectRoot, type LoadedProject } from "../config/load.js";
import { readWorkspaceOpencodeConfig } from "../config/opencode-json.js";
import type { EnvResolution } from "../config/env-rules.js";
import { checkMcpServers, type McpReport } from "../config/mcp-servers.js";
import { ensureImages } from "../image/build.js";
import { AGENT_UID } from "../image/dockerfile.js";
import type { Engine } from "../runtime/engine.js";
import { reap } from "../sandbox/reaper.js";
import { agentUserFor, currentHostUser, workspaceUserFor } from "../sandbox/spec.js";
import { newRunId, startSandbox, type StartedSandbox } from "../sandbox/start.js";
import {
  approvalDecision,
  currentApprovals,
  readApprovals,
  writeApprovals,
  type ChangedInput,
} from "./approval.js";
import { readHook, runHook } from "./hook.js";
import { beginSession } from "./session-edits.js";
import { findProjectSandbox, type SandboxRow } from "./sandbox-list.js";
import { hostAuthFile, projectSpec } from "./spec.js";
import { ensureState } from "./state.js";
import { stateLayout, type StateLayout } from "./state-layout.js";

export interface UpOptions {
  cwd: string;
  detach: boolean;
  /** `--approve-hook`: approve a changed hook or ocbox.yaml without asking. */
  approveHook?: boolean;
  /** Asks the person at the terminal; absent when there is none. */
  ask?: (question: string) => Promise<boolean>;
  port?: number;
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  /** Build output, hook output. */
  onLine?: (line: string) => void;
  onLog?: (line: string, source: "agent" | "egress") => void;
  readyTimeoutMs?: number;
  /** `--autonomous`: approve every OpenCode permission inside (also the config key `autonomous`). */
  autonomous?: boolean;
}

export type UpResult =
  | {
      kind: "started";
      project: LoadedProject;
      state: StateLayout;
      sandbox: StartedSandbox;
      env: EnvResolution;
      hookRan: boolean;
      mcp: McpReport;
    }
  | { kind: "running"; project: LoadedProject; state: StateLayout; row: SandboxRow };

/** The project around `cwd` with its state layout. */
export async function openProject(cwd: string, env: NodeJS.ProcessEnv = process.env) {
  const project = await loadProjectConfig(await requireProjectRoot(cwd));
  return { project, state: stateLayout(project.sandboxId, env) };
}

function describeChange(changed: readonly ChangedInput[], hookFile: string, configFile: string): string {
  return changed.map((c) => (c === "hook" ? hookFile : configFile)).join(" and ");
}

/** Approve (or refuse) a changed hook or config; records the approval in the state dir. */
async function approve(
  project: LoadedProject,
  state: StateLayout,
  hookFile: string,
  hook: string | undefined,
  options: UpOptions,
) {
  const config = await readFile(project.file, "utf8");
  const inputs = { hook, config };
  const decision = approvalDecision(await readApprovals(state.approved), inputs, {
    flag: options.approveHook ?? false,
    interactive: options.ask !== undefined,
  });
  if (decision.action === "proceed") return;
  const what = describeChange(decision.changed, hookFile, project.file);
  if (decision.action === "refuse") {
    throw new OcboxError(
      "CONFIG",
      `${what} changed since you last approved it, and no one is here to approve it`,
      {
        detail:
          "The agent can write the workspace. A changed pre-start hook runs on this host, and a changed ocbox.yaml decides " +
          "which host variables and ports the sandbox gets, so ocbox does not use them unseen.",
        fix: `Read ${what}; if it is what you want, run \`ocbox up --approve-hook\` (or run \`ocbox up\` in a terminal and answer the question).`,
      },
    );
  }
  if (decision.action === "ask") {
    const yes = await options.ask?.(
      `${what} changed since you last approved it (the agent can write the workspace). Read it first. Use it now?`,
    );
    if (!yes) {
      throw new OcboxError("CONFIG", `not started: ${what} was not approved`, {
        fix: `Read ${what}, undo what you do not want, and run \`ocbox up\` again.`,
      });
    }
  }
  await writeApprovals(state.approved, currentApprovals(inputs));
}

export async function upProject(engine: Engine, options: UpOptions): Promise<UpResult> {
  const env = options.env ?? process.env;
  const { project, state } = await openProject(options.cwd, env);
  await reap(engine);
  const running = await findProjectSandbox(engine, project.sandboxId);
  if (running) return { kind: "running", project, state, row: running };

  const owner = await stat(project.root);
  const host = workspaceUserFor(currentHostUser(), { uid: owner.uid, gid: owner.gid });
  const agentUser = agentUserFor(host, AGENT_UID);
  const password = await ensureState(state, project.root, agentUser);
  const hookFile = join(project.root, project.config.hook.preStart);
  const hook = await readHook(hookFile);
  await approve(project, state, hookFile, hook, options);

  let hostEnv: Record<string, string | undefined> = { ...env };
  const hookRan = hook !== undefined && hook.trim() !== "";
  if (hookRan) {
    hostEnv = await runHook(hookFile, {
      cwd: project.root,
      env,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onLine ? { onLine: options.onLine } : {}),
    });
  }
  options.signal?.throwIfAborted();

  const images = await ensureImages(engine, {
    ...(project.config.image.base ? { base: project.config.image.base } : {}),
    packages: project.config.image.packages,
    ...(options.onLine ? { onLine: options.onLine } : {}),
  });
  const opencodeJson = await readWorkspaceOpencodeConfig(project.root);
  const mcp = checkMcpServers(opencodeJson?.config, project.config.egress, opencodeJson?.file);
  if (options.autonomous) project.config.autonomous = true;
  const { spec, env: envResolution } = projectSpec({
    project,
    hostEnv,
    images: { sandbox: images.sandbox.tag, egress: images.egress.tag },
    state,
    password,
    agentUser,
    hostUser: host,
    runId: newRunId(),
    ...(options.port !== undefined ? { port: options.port } : {}),
    lifetime: options.detach ? "detached" : "session",
    authFile: hostAuthFile(env, homedir()),
    ...(opencodeJson ? { opencodeJson } : {}),
    ...(options.readyTimeoutMs !== undefined ? { readyTimeoutMs: options.readyTimeoutMs } : {}),
    approval: { kind: "checked-by-caller" },
  });
  // What the agent may plant for the host to run later is compared at the session's end.
  await beginSession(state, project.root, project.config.hook.preStart);
  const sandbox = await startSandbox(engine, spec, {
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.onLog ? { onLog: options.onLog } : {}),
  });
  return { kind: "started", project, state, sandbox, env: envResolution, hookRan, mcp };
}
