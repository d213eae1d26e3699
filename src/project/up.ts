/**
 * `ocbox up` as a library call: find the project, approve and run the pre-start hook, build the
 * images when their inputs changed, and start the sandbox with the project's state, env rules and
 * credentials. A sandbox that is already up is returned as it is (reattach).
 */
import { realpath, rm, stat, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { OcboxError } from "../errors.js";
import { loadProjectConfig, requireProjectRoot, type LoadedProject } from "../config/load.js";
import type { EnvResolution } from "../config/env-rules.js";
import { checkMcpServers, type McpReport } from "../plan/mcp-servers.js";
import { ensureImages, presentImages, type ImageOptions, type ImageSet } from "../image/build.js";
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
import { hookDoesNothing, runHook } from "../util/hook.js";
import { needsProbe } from "../plan/workspace-mode.js";
import { DEFAULT_COPY_BACK_CAPS } from "../sandbox/copy-back-policy.js";
import type { SandboxProfile } from "../plan/sandbox-profile.js";
import { engineSeesPath } from "../sandbox/path-probe.js";
import { copyBaseFile, readCopyBase, removeCopyBase, writeCopyBase } from "./copy-base.js";
import { beginSession } from "./session-edits.js";
import { findProjectSandbox, type SandboxRow } from "./sandbox-list.js";
import { hostAuthFile, projectSpec } from "./spec.js";
import { ensureState } from "./state.js";
import { stateLayout, type StateLayout } from "../util/state-layout.js";
import { traced } from "../util/trace.js";

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
  /** `--copy`: the workspace copied into a volume, whatever the engine sees (issue 14; `ocbox sync`). */
  copy?: boolean;
}

/** How the workspace got into the sandbox: bind-mounted, or copied into a volume (`ocbox sync`). */
export interface UpWorkspace {
  mode: "bind" | "copy";
  /** The plan's reason, as the summary prints it. */
  why: string;
  /** Copy mode: the volume, and what went in. */
  volume?: string;
  copyIn?: { files: number; bytes: number; ms: number };
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
      workspace: UpWorkspace;
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

/** The approved pre-start hook, run from its private copy: the environment it exports. */
async function runApprovedHook(
  project: LoadedProject,
  state: StateLayout,
  hook: string | undefined,
  env: NodeJS.ProcessEnv,
  options: UpOptions,
): Promise<{ hostEnv: Record<string, string | undefined>; hookRan: boolean }> {
  // The comment-only template is not run (a bash start, about 7 ms of every `up`, for nothing).
  const hookRan = hook !== undefined && !hookDoesNothing(hook);
  if (hook === undefined || !hookRan) return { hostEnv: { ...env }, hookRan };
  const hostEnv = await traced("up.hook", async () =>
    runHook(await privateHookCopy(state, hook), {
      cwd: project.root,
      env,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onLine ? { onLine: options.onLine } : {}),
    }),
  );
  return { hostEnv, hookRan };
}

export async function upProject(engine: Engine, options: UpOptions): Promise<UpResult> {
  const env = options.env ?? process.env;
  const { project, state } = await openProject(options.cwd, env);
  const imageOptions: ImageOptions = {
    ...(project.config.image.base ? { base: project.config.image.base } : {}),
    packages: project.config.image.packages,
    ...(options.onLine ? { onLine: options.onLine } : {}),
  };
  // Whether the images are here already, asked while the reaper runs: nothing is pulled or built
  // before the approval (a failure here is left to ensureImages below to report).
  const present = presentImages(engine, imageOptions).catch(() => undefined);
  // The reaper runs beside the steps up to the start, which waits for it (a crashed run's fixed
  // port is free by then). A sandbox of this project seen before it ended may be one it removes:
  // asked again once it has.
  const reaping = traced("up.reap", () => reap(engine));
  reaping.catch(() => undefined);
  const running = await traced("up.find-running", async () => {
    const seen = await findProjectSandbox(engine, project.sandboxId);
    if (!seen) return undefined;
    await reaping;
    return await findProjectSandbox(engine, project.sandboxId);
  });
  if (running) return { kind: "running", project, state, row: running };
  try {
    return await startProject(engine, options, { project, state, env, imageOptions, present, reaping });
  } finally {
    // Whatever failed or was refused, the reaper's teardown of a crashed run is not cut short.
    await reaping.catch(() => undefined);
  }
}

/** What upProject asked before the start, and what still runs beside it. */
interface UpStart {
  project: Awaited<ReturnType<typeof openProject>>["project"];
  state: StateLayout;
  env: NodeJS.ProcessEnv;
  imageOptions: ImageOptions;
  present: Promise<ImageSet | undefined>;
  reaping: Promise<unknown>;
}

/** Approve, build what is missing, plan and start the project's sandbox (no sandbox of it runs). */
async function startProject(
  engine: Engine,
  options: UpOptions,
  { project, state, env, imageOptions, present, reaping }: UpStart,
): Promise<UpResult> {
  const owner = await stat(project.root);
  const host = workspaceUserFor(currentHostUser(), { uid: owner.uid, gid: owner.gid });
  const agentUser = agentUserFor(host, AGENT_UID);
  const password = await traced("up.state", () => ensureState(state, project.root, agentUser));
  const hookFile = join(project.root, project.config.hook.preStart);
  // Read once: what is approved is what is parsed, applied and run (never re-read by path).
  const { read, opencodeJson, hook } = await traced("up.read-files", () =>
    readProjectFiles(project, hookFile, env),
  );
  const approval = await traced("up.approve", () => approve(project, state, read, options));

  const { hostEnv, hookRan } = await runApprovedHook(project, state, hook, env, options);
  options.signal?.throwIfAborted();

  const images = await traced("up.images", async () => (await present) ?? ensureImages(engine, imageOptions));
  const mcp = checkMcpServers(opencodeJson?.config, project.config.egress, opencodeJson?.file);
  const workspaceProbe = await traced("up.probe", () =>
    probeWorkspace(engine, { project, state, image: images.sandbox.tag, env }, options),
  );
  if (options.autonomous) project.config.autonomous = true;
  const authFile = hostAuthFile(env, homedir());
  const providers = await traced("up.provider-facts", () =>
    readProviderFacts(findAnyOpencodeBinary(), authFile, env),
  );
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
    ...(options.copy ? { copy: true } : {}),
    ...(workspaceProbe ? { workspaceProbe } : {}),
  });
  // What the agent may plant for the host to run later is compared at the session's end.
  await traced("up.begin-session", () => beginSession(state, project.root, project.config.hook.preStart));
  await reaping;
  const sandbox = await startSandbox(engine, spec, {
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.onLog ? { onLog: options.onLog } : {}),
  });
  const workspace = await recordCopyIn(sandbox, state, plan.profile);
  const egressWarnings = plan.egressGaps.warnings;
  return {
    kind: "started",
    project,
    state,
    sandbox,
    env: envResolution,
    hookRan,
    mcp,
    egressWarnings,
    workspace,
  };
}

/**
 * Bind or copy: refuse to start over an unsynced copy an earlier `up` left (its sync failed, or it
 * crashed: the agent's work, never dropped), then ask the engine whether it sees the project,
 * unless `--copy` or `workspace.mode` decided.
 */
async function probeWorkspace(
  engine: Engine,
  {
    project,
    state,
    image,
    env,
  }: { project: LoadedProject; state: StateLayout; image: string; env: NodeJS.ProcessEnv },
  options: Pick<UpOptions, "copy">,
) {
  await refuseUnsyncedCopy(engine, state);
  if (!needsProbe({ forceCopy: options.copy, configured: project.config.workspace.mode })) return undefined;
  const probe = await engineSeesPath(engine, await realpath(project.root), image, env);
  return { ...probe, endpoint: engine.endpoint };
}

/** Refuse to start over a copy-mode volume an earlier `up` left with the agent's work in it. */
async function refuseUnsyncedCopy(engine: Engine, state: StateLayout): Promise<void> {
  const record = await readCopyBase(state);
  if (!record) return;
  if (!(await engine.volumeExists(record.volume))) {
    await removeCopyBase(state);
    return;
  }
  throw new OcboxError(
    "WORKSPACE_IN_USE",
    `the agent's copy of an earlier \`ocbox up\` is still in the engine volume ${record.volume}`,
    {
      detail: `taken ${record.at}; ${copyBaseFile(state)}`,
      fix: "`ocbox sync` brings its work back, then `ocbox down` removes it; `ocbox down --discard` drops it unsynced.",
    },
  );
}

/** Copy mode: the base of the three-way sync into the state dir (0600), where the agent cannot write. */
async function recordCopyIn(
  sandbox: StartedSandbox,
  state: StateLayout,
  profile: Pick<SandboxProfile, "workspaceMode" | "copyBack">,
): Promise<UpWorkspace> {
  const why = profile.workspaceMode ?? "bind mount";
  const caps = profile.copyBack ?? DEFAULT_COPY_BACK_CAPS;
  const { spec, copyIn } = sandbox;
  if (!spec.workspaceCopy || !copyIn) return { mode: "bind", why };
  try {
    await writeCopyBase(state, {
      sandboxId: spec.sandboxId,
      runId: spec.runId,
      volume: sandbox.names.workspaceVolume,
      image: spec.images.sandbox,
      workspace: spec.workspace,
      exclude: spec.workspaceCopy.exclude,
      caps,
      at: new Date().toISOString(),
      base: copyIn.base,
    });
  } catch (e) {
    await sandbox.stop().catch(() => undefined);
    throw e;
  }
  const { files, bytes, ms } = copyIn;
  return { mode: "copy", why, volume: sandbox.names.workspaceVolume, copyIn: { files, bytes, ms } };
}
