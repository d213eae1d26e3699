/**
 * `ocbox up` as a library call: find the project, approve and run the pre-start hook, build the
 * images when their inputs changed, and start the sandbox with the project's state, env rules and
 * credentials. A sandbox that is already up is returned as it is (reattach).
 */
import { rm, stat, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { OcboxError } from "../errors.js";
import { loadProjectConfig, requireProjectRoot, type LoadedProject } from "../config/load.js";
import type { EnvResolution } from "../config/env-rules.js";
import { checkMcpServers, type McpReport } from "../plan/mcp-servers.js";
import { ensureImages } from "../image/build.js";
import { AGENT_UID } from "../image/dockerfile.js";
import { findAnyOpencodeBinary } from "../image/opencode-binary.js";
import { readProviderFacts } from "../opencode/provider-catalogue.js";
import type { Engine } from "../runtime/engine.js";
import { reap } from "../sandbox/reaper.js";
import { agentUserFor, currentHostUser, workspaceUserFor } from "../sandbox/spec.js";
import { newRunId, startSandbox, type StartedSandbox } from "../sandbox/start.js";
import { describePending, obeyApproval, type ApprovalState } from "../plan/approval-state.js";
import { recordApprovals } from "../executor/approval-records.js";
import {
  checkApproval,
  readProjectFiles,
  recordDecided,
  type ReadFiles,
} from "../executor/approval-check.js";
import { runHook } from "../util/hook.js";
import { beginSession } from "./session-edits.js";
import { findProjectSandbox, type SandboxRow } from "./sandbox-list.js";
import { hostAuthFile, projectSpec } from "./spec.js";
import { ensureState } from "./state.js";
import { stateLayout, type StateLayout } from "../util/state-layout.js";

export interface UpOptions {
  cwd: string;
  detach: boolean;
  /** `--approve-hook`: approve a changed hook, ocbox.yaml or opencode.json(c) without asking. */
  approveHook?: boolean;
  /** `--approve-config`: the same as approveHook (the flag every entry point has). */
  approveConfig?: boolean;
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
      /** WARNING lines: model API hosts the proxy would deny (plan/egress-gaps.ts). */
      egressWarnings: string[];
    }
  | { kind: "running"; project: LoadedProject; state: StateLayout; row: SandboxRow };

/** The project around `cwd` with its state layout. */
export async function openProject(cwd: string, env: NodeJS.ProcessEnv = process.env) {
  const project = await loadProjectConfig(await requireProjectRoot(cwd));
  return { project, state: stateLayout(project.sandboxId, env) };
}

/**
 * Approve (or refuse) what changed since the last approval, and record it. Any change asks (a
 * person's session; the hook runs on this host); without a terminal or the flag it stops.
 */
async function approve(
  project: LoadedProject,
  state: StateLayout,
  read: ReadFiles,
  options: UpOptions,
): Promise<ApprovalState> {
  const scope = { root: project.root, recordFile: state.approved };
  const how = options.approveHook || options.approveConfig ? "flag" : options.ask ? "interactive" : "none";
  const decided = await checkApproval("up", scope, read, how);
  if (decided.kind === "needs-approval") {
    const what = decided.pending.map(describePending).join("; ");
    const yes = await options.ask?.(
      `Not approved yet: ${what}. The agent can write the workspace; \`ocbox approve\` shows the diff. Use them now?`,
    );
    if (!yes) {
      throw new OcboxError("CONFIG", `not started: ${what} was not approved`, {
        fix: "Read them (`ocbox approve` shows the diff), undo what you do not want, and run `ocbox up` again.",
      });
    }
    await recordApprovals(state.approved, decided.pending, read.texts);
    return { kind: "approved", files: decided.files, record: decided.pending };
  }
  obeyApproval(decided, project.root);
  await recordDecided(decided, scope, read);
  return decided;
}

/** The approved hook's bytes as a private copy in the state dir (0600), which is what runs. */
async function privateHookCopy(state: StateLayout, text: string): Promise<string> {
  const file = join(state.dir, "pre-start.approved.sh");
  await rm(file, { force: true });
  await writeFile(file, text, { mode: 0o600, flag: "wx" });
  return file;
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
  // Read once: what is approved is what is parsed, applied and run (never re-read by path).
  const { read, opencodeJson, hook } = await readProjectFiles(project, hookFile, env);
  const approval = await approve(project, state, read, options);

  let hostEnv: Record<string, string | undefined> = { ...env };
  const hookRan = hook !== undefined && hook.trim() !== "";
  if (hook !== undefined && hookRan) {
    hostEnv = await runHook(await privateHookCopy(state, hook), {
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
  const mcp = checkMcpServers(opencodeJson?.config, project.config.egress, opencodeJson?.file);
  if (options.autonomous) project.config.autonomous = true;
  const authFile = hostAuthFile(env, homedir());
  const providers = await readProviderFacts(findAnyOpencodeBinary(), authFile, env);
  const {
    spec,
    env: envResolution,
    plan,
  } = projectSpec({
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
    authFile,
    providers,
    ...(opencodeJson ? { opencodeJson } : {}),
    ...(options.readyTimeoutMs !== undefined ? { readyTimeoutMs: options.readyTimeoutMs } : {}),
    approval,
  });
  // What the agent may plant for the host to run later is compared at the session's end.
  await beginSession(state, project.root, project.config.hook.preStart);
  const sandbox = await startSandbox(engine, spec, {
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.onLog ? { onLog: options.onLog } : {}),
  });
  const egressWarnings = plan.egressGaps.warnings;
  return { kind: "started", project, state, sandbox, env: envResolution, hookRan, mcp, egressWarnings };
}
