import { randomBytes } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import type { OpencodeClient } from "@opencode-ai/sdk/v2";
import { OcboxError } from "../errors.js";
import { waitHealthy, type ServerHandle } from "../opencode/server-handle.js";
import type { Engine } from "../runtime/engine.js";
import { runtimeProblem } from "../runtime/runtime-check.js";
import { resourceLabels, type Owner, type ResourceRole } from "../runtime/labels.js";
import { currentOwner } from "../runtime/owner.js";
import type { Decision } from "../egress/decisions.js";
import { resolveGatewayNetworks } from "../egress/gateway-network.js";
import { needsHostRelay, prepareEgress, type EgressPlan } from "./egress-sidecar.js";
import { EGRESS_DIR, RUN_DIR, WORKSPACE } from "../image/dockerfile.js";
import { packFiles, type StagedFile } from "./archive-files.js";
import { ensureDataVolume, fillDataVolume, type DataVolume } from "./data-volume.js";
import { liveDecisions } from "./egress-log.js";
import { freePort, portInUse } from "../util/free-port.js";
import {
  DOCKER_SOCKET,
  agentContainer,
  egressContainer,
  hostRelayContainer,
  resourceNames,
  socketVolumeOptions,
  type Names,
} from "./containers.js";
import { startAptHelper } from "./apt-helper.js";
import { prepareCacheVolumes } from "./cache-volume-init.js";
import { lendWorkspace, loanLabel, needsOwnershipLoan } from "./ownership.js";
import { authCopy } from "./auth-copy.js";
import { prepareEgressNetwork } from "./egress-network.js";
import { newPassword } from "./run-dir.js";
import { refuseSharedTree } from "./shared-tree.js";
import type { SandboxSpec } from "./spec.js";
import { emptyParts, tearDown, type SandboxParts } from "./teardown.js";
import { checkWorkspaceBoundary } from "./workspace-guard.js";
import { excludedBy } from "./copy-excludes.js";
import { copyWorkspaceIn, type CopyInReport } from "./workspace-copy-in.js";
import { giveVolumeRoot, KEPT_WORKSPACE_KIND } from "./workspace-volume.js";
import { LABEL } from "../runtime/labels.js";
import { makeDirs, TASK_AGENT_DIRS } from "./task-phases.js";
import { modelsRunFiles } from "./models-file.js";
import { chooseTransport } from "./loopback-probe.js";
import { reverseTargets, startReverseRelays, type ReverseTarget } from "./reverse-relay.js";
import {
  execFetch,
  listenLocalRelay,
  serverConnector,
  transportSetting,
  type LocalRelay,
  type ServerTransport,
} from "./server-transport.js";

import { traceMark, traced } from "../util/trace.js";

const LISTENING = /opencode server listening on/;

export interface StartedSandbox extends AsyncDisposable {
  readonly spec: SandboxSpec;
  readonly names: Names;
  readonly server: ServerHandle;
  readonly port: number;
  readonly agentId: string;
  readonly egressId: string;
  /** The host relay, when host ports or a gateway only the host reaches are listed. */
  readonly relayId: string | undefined;
  /** How this process reaches the server: a published port, or exec relays (server-transport.ts). */
  readonly transport: ServerTransport;
  /** A URL on this machine's 127.0.0.1 for a browser or `opencode attach` (a local relay with "exec"). */
  localServer(): Promise<Pick<LocalRelay, "url" | "close">>;
  /** With "exec": the ways back this process relays (host ports, loopback upstreams); else none. */
  readonly reverseTargets: readonly ReverseTarget[];
  /** Milliseconds from the call to a healthy server, and its parts. */
  readonly timings: { createMs: number; listeningMs: number; healthyMs: number };
  /** Copy mode: what was copied in (the base of the sync back) and how long it took. */
  readonly copyIn: CopyInReport | undefined;
  /** The SDK's client for the server (the SDK loads on the first call: `up` never needs it). */
  client(directory?: string): Promise<OpencodeClient>;
  /** The last lines the agent container printed. */
  recentLogs(): string[];
  /** The egress proxy's allow/deny decisions so far (B6). */
  egressDecisions(): Promise<Decision[]>;
  /** Stop and remove everything this sandbox created; give the workspace back. Idempotent. */
  stop(): Promise<void>;
  /** Copy mode: `stop()` leaves the workspace volume (a failed sync keeps the agent's work). */
  keepWorkspaceVolume(): void;
  /** The labels of this sandbox's resources in a role (for a helper container of its own). */
  labels(role: ResourceRole): Record<string, string>;
}

export interface StartOptions {
  signal?: AbortSignal;
  onLog?: (line: string, source: "agent" | "egress") => void;
}

/** What a start in progress has made so far, and what it shares between its steps. */
interface Build {
  engine: Engine;
  spec: SandboxSpec;
  options: StartOptions;
  names: Names;
  owner: Owner;
  password: string;
  /** Everything created so far, for `tearDown` (the undo of a failed start, and `stop()`). */
  parts: SandboxParts;
  follow: AbortController;
  logs: string[];
  remember: (line: string, source: "agent" | "egress") => void;
  /** The spec's data volume: made by this start (then `spec.dataSeed` goes in), and when the engine made it. */
  dataVolume?: DataVolume;
  /** Copy mode: what went in. */
  copyIn?: CopyInReport;
  /** What to close with the sandbox: exec relays (their fetch agent, the reverse relays). */
  closers: Array<() => unknown>;
}

/** What `prepareHost` staged: the port, the run files, the egress plan, and the labels to use. */
interface Host {
  port: number;
  transport: ServerTransport;
  /** What goes into the agent's run volume (RUN_DIR) before it starts. */
  runFiles: StagedFile[];
  egress: EgressPlan;
  /** The engine host's addresses, refused by squid (its namespace reaches them). */
  hostAddrs: string[];
  /** Whether this sandbox has a host relay (a container in the host's network namespace). */
  hostRelay: boolean;
  loan: string | undefined;
  labels: (role: ResourceRole) => Record<string, string>;
}

/**
 * Start one sandbox: a socket volume, the egress sidecar, and the agent container running
 * `opencode serve`, then wait until the server answers. On any failure or abort, everything
 * created so far is removed before the error is thrown.
 */
export async function startSandbox(
  engine: Engine,
  spec: SandboxSpec,
  options: StartOptions = {},
): Promise<StartedSandbox> {
  const started = performance.now();
  const b = newBuild(engine, spec, options);
  const stop = once(() => removeAll(b));
  try {
    const host = await traced("start.prepare-host", () => prepareHost(b));
    await traced("start.volumes", () => prepareVolumes(b, host));
    const { agentId, egressId, relayId } = await traced("start.create-containers", () =>
      createContainers(b, host),
    );
    await traced("start.fill-containers", () => fillContainers(b, host, { agentId, egressId }));
    const createMs = performance.now() - started;
    options.signal?.throwIfAborted();
    await traced("start.start-containers", () => startContainers(engine, { agentId, egressId, relayId }));
    const server = await serverAccess(b, host, egressId);
    const { listeningMs } = await traced("start.wait-ready", () =>
      waitUntilReady(b, server, { agentId, egressId, relayId }, started),
    );
    const healthyMs = performance.now() - started;
    return {
      spec,
      names: b.names,
      server,
      port: host.port,
      agentId,
      egressId,
      relayId,
      transport: host.transport,
      reverseTargets:
        host.transport === "exec" ? reverseTargets(spec.forwardPorts, host.egress.upstreams) : [],
      localServer: async () =>
        host.transport === "port"
          ? { url: server.url, close: () => Promise.resolve() }
          : await listenLocalRelay(serverConnector(engine, egressId)),
      timings: { createMs, listeningMs, healthyMs },
      copyIn: b.copyIn,
      client: async (directory) => (await import("../opencode/client.js")).clientFor(server, directory),
      recentLogs: () => [...b.logs],
      egressDecisions: () => liveDecisions(engine, egressId, host.egress),
      stop,
      labels: host.labels,
      keepWorkspaceVolume: () => {
        b.parts.volumes = b.parts.volumes.filter((v) => v !== b.names.workspaceVolume);
      },
      [Symbol.asyncDispose]: stop,
    };
  } catch (e) {
    await stop().catch(() => undefined);
    throw startFailure(e, b);
  }
}

function newBuild(engine: Engine, spec: SandboxSpec, options: StartOptions): Build {
  const logs: string[] = [];
  return {
    engine,
    spec,
    options,
    names: resourceNames(spec.sandboxId, spec.runId),
    owner: currentOwner(),
    password: spec.password ?? newPassword(),
    parts: emptyParts(),
    follow: new AbortController(),
    closers: [],
    logs,
    remember: (line, source) => {
      logs.push(source === "agent" ? line : `[egress] ${line}`);
      if (logs.length > 400) logs.shift();
      options.onLog?.(line, source);
    },
  };
}

/** Tear down what was made, then stop following logs; throws when something could not be removed. */
async function removeAll(b: Build): Promise<void> {
  const report = await tearDown(b.engine, b.parts, {
    // OpenCode's graceful shutdown matters only where its data outlives the sandbox (a project's
    // data volume); a task's sandbox was read before its end, and killing it saves a round of
    // engine calls (about 70 ms of a cold task's 230 ms teardown, measured).
    agentStopS: b.spec.dataVolume ? 10 : 0,
    // Killed at once, as stop() always removed the sidecar: squid's access log is not buffered
    // (buffered_logs off, its default), and nobody waits for an install once the agent is gone.
    otherStopS: 0,
    ...(b.spec.egress?.decisionLog ? { decisionLog: b.spec.egress.decisionLog } : {}),
  });
  // The agent's last lines (its shutdown) still reach onLog.
  b.follow.abort();
  for (const close of b.closers.splice(0)) await close();
  if (report.errors.length > 0) {
    throw new OcboxError("ENGINE", "some sandbox resources could not be removed", {
      detail: [...report.errors, ...report.kept].join("\n"),
      fix: "Run `ocbox clean` to remove leftovers.",
    });
  }
}

/** The error a failed start throws, once its resources are gone. */
function startFailure(e: unknown, b: Build): unknown {
  if (e instanceof OcboxError && e.code === "SANDBOX_NOT_READY") {
    return new OcboxError(e.code, e.message, {
      detail: [e.detail, "last lines of the sandbox's log:", ...b.logs.slice(-25)].filter(Boolean).join("\n"),
      fix: "The containers were removed. Read the log above; `ocbox smoke` checks each part in turn.",
    });
  }
  if (b.options.signal?.aborted) return new OcboxError("INTERRUPTED", "interrupted; the sandbox was removed");
  return e;
}

/** The host side: the workspace check, the port, the run dir with credentials, the egress dir. */
async function prepareHost(b: Build): Promise<Host> {
  const { spec, engine, owner } = b;
  await traced("start.workspace-boundary", () => checkWorkspaceBoundary(spec.workspace));
  await checkRuntime(engine, spec);
  const transport = await traced("start.choose-transport", () =>
    chooseTransport(engine, spec.serverTransport ?? transportSetting(process.env), spec.images.egress),
  );
  let port = transport === "exec" ? 0 : spec.hostPort;
  if (port !== 0 && (await portInUse(port))) {
    throw new OcboxError("SANDBOX_START", `port ${port} on 127.0.0.1 is already in use`, {
      fix: "Free the port, choose another, or leave the port unset so ocbox picks a free one.",
    });
  }
  if (port === 0 && transport === "port") port = await freePort();

  const runFiles = await traced("start.run-files", () => runVolumeFiles(spec, b.password));
  const [egress, hostAddrs] = await traced("start.egress-plan", () =>
    Promise.all([
      resolveGatewayNetworks(engine, spec.egress ?? { allow: [] }).then((e) =>
        // B4: a gateway upstream on another Docker network is looked up now, for the relay only.
        prepareEgress(e, spec.forwardPorts, owner, {
          volume: b.names.egressVolume,
          image: spec.images.egress,
        }),
      ),
      prepareEgressNetwork(engine),
    ]),
  );
  b.parts.egress.push({ volume: egress.volume, control: egress.controlFile });
  const hostRelay = needsHostRelay(egress, spec.forwardPorts);

  // Copy mode lends nothing: the agent writes its own copy, and the sync makes the files the user's.
  const loan =
    !spec.workspaceCopy && needsOwnershipLoan(spec.hostUser, spec.agentUser)
      ? loanLabel(spec.agentUser, spec.hostUser)
      : undefined;
  const labels = (role: ResourceRole) =>
    resourceLabels({
      sandboxId: spec.sandboxId,
      runId: spec.runId,
      role,
      owner,
      lifetime: spec.lifetime,
      startedAt: new Date(),
      workspace: spec.workspace,
      ...(role === "egress" ? { egressVolume: egress.volume, egressControl: egress.controlFile } : {}),
      port,
      ...(loan ? { loan } : {}),
    });
  return { port, transport, runFiles, egress, hostAddrs, hostRelay, loan, labels };
}

/** hardening.runtime: the engine has it registered as gVisor with the flags it needs (runtime-check.ts). */
async function checkRuntime(engine: Engine, spec: SandboxSpec): Promise<void> {
  const runtime = spec.hardening?.runtime;
  if (runtime === undefined) return;
  const problem = runtimeProblem(runtime, (await engine.capabilities()).runtimes);
  if (problem) throw problem;
}

interface NewVolume {
  name: string;
  labels: Record<string, string>;
  /** The engine's driver options (a tmpfs for the socket volumes). */
  opts: Record<string, string>;
}

/** Cache volumes, the workspace lent to the agent user, the socket volume and the apt helper. */
async function prepareVolumes(b: Build, host: Host): Promise<void> {
  const { spec, engine } = b;
  // E11: the volumes exist and are the agent's before any container mounts them.
  if (spec.cacheVolumes?.length) {
    await prepareCacheVolumes(engine, {
      image: spec.images.sandbox,
      workspace: spec.workspace,
      agentUser: spec.agentUser,
      volumes: spec.cacheVolumes,
      onLine: (line) => b.remember(`ocbox: ${line}`, "agent"),
    });
  }
  if (host.loan) {
    // Never lend a tree another live sandbox uses: its agent could rewrite it under the walk.
    await refuseSharedTree(engine, spec.workspace, { sandboxId: spec.sandboxId, runId: spec.runId });
    await lendWorkspace(spec.workspace, spec.hostUser, spec.agentUser);
    b.parts.giveBack = { workspace: spec.workspace, hostUser: spec.hostUser, agentUser: spec.agentUser };
  }
  b.options.signal?.throwIfAborted();
  // The run's volumes, all asked at once (none needs another); each is recorded for teardown
  // before it is asked for, so one made by a call that then failed is removed too.
  const volumes: NewVolume[] = [
    { name: b.names.socketVolume, labels: host.labels("sockets"), opts: socketVolumeOptions(spec) },
  ];
  if (host.hostRelay)
    volumes.push({
      name: b.names.relayVolume,
      labels: host.labels("relay"),
      opts: socketVolumeOptions(spec),
    });
  // Decision 9: the run files and the sidecar's files are engine volumes, not host dirs.
  volumes.push({ name: b.names.runVolume, labels: host.labels("run-files"), opts: {} });
  volumes.push({ name: b.names.egressVolume, labels: host.labels("egress-files"), opts: {} });
  if (spec.workspaceCopy) {
    // Its root goes to the agent once the copy-in is done (fillAgent).
    const kept: Record<string, string> = spec.workspaceCopy.keep ? { [LABEL.kind]: KEPT_WORKSPACE_KIND } : {};
    volumes.push({
      name: b.names.workspaceVolume,
      labels: { ...host.labels("workspace-copy"), ...kept },
      opts: {},
    });
  }
  b.parts.volumes.push(...volumes.map((v) => v.name));
  const made = await Promise.allSettled([
    ...volumes.map((v) => engine.createVolume(v.name, v.labels, v.opts)),
    ensureDataVolume(engine, spec).then((v) => {
      b.dataVolume = v;
    }),
  ]);
  const failed = made.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw failed.reason;
  // C9 (only with apt.allow): the apt helper, before the agent that mounts its package volume.
  await startAptHelper(engine, spec, host.labels, b.parts);
}

/**
 * Create the egress sidecar, the host relay (when needed) and the agent container at once: none
 * needs another to exist or run (they meet through the socket volumes, each side's relays connect
 * lazily). Whichever was created is recorded for teardown; throws the first creation failure.
 */
async function createContainers(b: Build, host: Host): Promise<Containers> {
  const { spec, engine, names } = b;
  const context = { hostAddrs: host.hostAddrs, hostRelay: host.hostRelay, transport: host.transport };
  // With "exec" the host relay's namespace is the engine host's, not ours: the sidecar relays back.
  const relayContainer = host.hostRelay && host.transport === "port";
  const [egress, agent, relay] = await Promise.allSettled([
    engine.createContainer(
      egressContainer(spec, names, host.port, host.labels("egress"), host.egress, context),
    ),
    dockerSocketGid(spec).then((gid) =>
      engine.createContainer(agentContainer(spec, names, host.labels("agent"), host.egress, gid)),
    ),
    relayContainer
      ? engine.createContainer(hostRelayContainer(spec, names, host.labels("relay"), host.egress))
      : Promise.resolve(undefined),
  ]);
  if (agent.status === "fulfilled") b.parts.agents.push({ id: agent.value, name: names.agent });
  if (egress.status === "fulfilled") b.parts.others.push({ id: egress.value, name: names.egress });
  if (relay.status === "fulfilled" && relay.value)
    b.parts.others.push({ id: relay.value, name: names.relay });
  if (egress.status === "rejected") throw egress.reason;
  if (agent.status === "rejected") throw agent.reason;
  if (relay.status === "rejected") throw relay.reason;
  // Again now that our agent's labels are in the engine: of two starts on one tree at once, each
  // sees the other here, so neither runs on a tree the other was lent.
  if (host.loan)
    await refuseSharedTree(engine, spec.workspace, { sandboxId: spec.sandboxId, runId: spec.runId });
  return { agentId: agent.value, egressId: egress.value, relayId: relay.value };
}

interface Containers {
  agentId: string;
  egressId: string;
  relayId: string | undefined;
}

/**
 * The run files, the sidecar's files and the data volume's dirs, in before either starts. The
 * sidecar's files go in beside the agent's (different containers and volumes; about one archive
 * call less on the way to ready); the agent's own steps stay in order.
 */
async function fillContainers(
  b: Build,
  host: Host,
  ids: { agentId: string; egressId: string },
): Promise<void> {
  const { engine, spec } = b;
  const egressFiles = traced("start.fill-egress", async () =>
    engine.putArchive(ids.egressId, EGRESS_DIR, await packFiles(host.egress.files, spec.agentUser)),
  );
  const [agent, egress] = await Promise.allSettled([fillAgent(b, host, ids.agentId), egressFiles]);
  if (agent.status === "rejected") throw agent.reason;
  if (egress.status === "rejected") throw egress.reason;
}

async function fillAgent(b: Build, host: Host, agentId: string): Promise<void> {
  const { engine, spec } = b;
  const tar = await traced("start.pack-run-files", () => packFiles(host.runFiles, spec.agentUser));
  await traced("start.fill-run-files", () => engine.putArchive(agentId, RUN_DIR, tar));
  const volume = b.dataVolume;
  if (volume) await traced("start.fill-data-volume", () => fillDataVolume(engine, agentId, spec, volume));
  if (spec.workspaceCopy) {
    const target = spec.workspaceTarget ?? WORKSPACE;
    const excluded = excludedBy(spec.workspaceCopy.exclude);
    b.copyIn = await copyWorkspaceIn(engine, agentId, target, spec.workspace, spec.agentUser, excluded);
    // The root to the agent once the files are in: a chown before the copy-in was seen undone by
    // it (root's after 2 of 3 `up --copy`s whose target path the image does not have), and the
    // agent could then create or delete nothing at its workspace's top.
    await giveVolumeRoot(engine, {
      name: b.names.workspaceVolume,
      image: spec.images.sandbox,
      agentUser: spec.agentUser,
      sandboxId: spec.sandboxId,
      labels: host.labels("workspace-copy"),
    });
  }
  // A task's own image: Harbor's log dirs, the agent's to write (its logs, its artifacts).
  if (spec.taskImage) await makeDirs(engine, agentId, spec.taskImage.user, TASK_AGENT_DIRS);
}

/**
 * The agent first, alone, then the sidecar and the relay: OpenCode's boot (about 1.2 s here) is
 * the longest step to ready, and two starts at once on the engine made the agent's take about
 * 300 ms instead of 165 ms (measured, `ocbox up` on 2 cores). The sidecar is up long before the
 * server listens; nothing reaches the agent before then.
 */
async function startContainers(engine: Engine, { agentId, egressId, relayId }: Containers): Promise<void> {
  await traced("start.agent", () => engine.startContainer(agentId));
  await Promise.all([egressId, ...(relayId ? [relayId] : [])].map((id) => engine.startContainer(id)));
}

/**
 * Follow the containers' logs, wait for the server's "listening" line while checking that both
 * containers live, then until the server answers. Returns when the line was seen.
 */
async function waitUntilReady(
  b: Build,
  server: ServerHandle,
  { agentId, egressId, relayId }: Containers,
  started: number,
): Promise<{ listeningMs: number }> {
  const { engine, spec, options } = b;
  // A follow that cannot start is not an error of its own here: assertAlive's state check
  // reports an engine that stopped answering, and a container that exited, as what they are.
  const ignoreFollow = () => undefined;
  // A follow ends when its container stops: then the check below runs at once, not at its next turn.
  let followEnded: () => void = () => undefined;
  const anyFollowEnded = new Promise<void>((resolve) => (followEnded = resolve));
  const listening = new Promise<void>((resolve) => {
    const onAgent = (line: string) => {
      b.remember(line, "agent");
      if (LISTENING.test(line)) resolve();
    };
    engine.followLogs(agentId, onAgent, b.follow.signal).then(followEnded, ignoreFollow);
    for (const id of [egressId, ...(relayId ? [relayId] : [])])
      engine
        .followLogs(id, (line) => b.remember(line, "egress"), b.follow.signal)
        .then(followEnded, ignoreFollow);
  });
  const assertAlive = () => assertRunning(engine, { agentId, egressId, relayId });
  const deadline = Date.now() + spec.readyTimeoutMs;
  let heard = false;
  void listening.then(() => (heard = true));
  await Promise.race([
    listening,
    (async () => {
      // The log line is the fast path; keep checking that the containers live while we wait (once
      // a second, or at once when a container's log ends), and stop checking once the line is seen.
      // Each check is an engine call per container, beside OpenCode's boot on the same cores.
      // Once: after a follow ended (its container is checked at once), the loop keeps its pace.
      let ended: Promise<void> = anyFollowEnded.then(() => {
        ended = new Promise(() => undefined);
      });
      while (!heard) {
        await pause(Math.max(0, Math.min(1000, deadline - Date.now()) + 1), ended, options.signal);
        if (heard) break;
        options.signal?.throwIfAborted();
        if (Date.now() > deadline) {
          throw new OcboxError(
            "SANDBOX_NOT_READY",
            `the OpenCode server did not start listening in ${spec.readyTimeoutMs / 1000} s`,
          );
        }
        await assertAlive();
      }
    })(),
  ]);
  const listeningMs = performance.now() - started;
  traceMark("start.listening");
  await waitHealthy(server, {
    timeoutMs: Math.max(1000, deadline - Date.now()),
    ...(options.signal ? { signal: options.signal } : {}),
    check: assertAlive,
  });
  return { listeningMs };
}

/** `ms`, or less when `wake` settles or `signal` aborts first. */
async function pause(ms: number, wake: Promise<unknown>, signal: AbortSignal | undefined): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  try {
    await Promise.race([
      new Promise((r) => (timer = setTimeout(r, ms))),
      wake,
      new Promise<void>((r) => {
        onAbort = () => r();
        signal?.addEventListener("abort", onAbort, { once: true });
      }),
    ]);
  } finally {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener("abort", onAbort);
  }
}

/** Throws SANDBOX_NOT_READY when the agent, the sidecar or the host relay is not running. */
async function assertRunning(engine: Engine, { agentId, egressId, relayId }: Containers): Promise<void> {
  const all: Array<[string, string]> = [
    [agentId, "agent"],
    [egressId, "egress sidecar"],
    ...(relayId ? [[relayId, "host relay"] as [string, string]] : []),
  ];
  for (const [id, what] of all) {
    const state = await engine.containerState(id);
    if (!state?.running) {
      throw new OcboxError(
        "SANDBOX_NOT_READY",
        `the ${what} container exited (code ${state?.exitCode ?? "?"}) before the server was ready`,
      );
    }
  }
}

/** `fn` run once; later calls get the first call's promise. */
function once(fn: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  return () => (running ??= fn());
}

/**
 * The server as this process reaches it: the published port, or (with "exec") a fetch whose
 * connections are exec relays into the sidecar, plus the reverse relays for host ports and
 * gateway upstreams only this machine reaches.
 */
async function serverAccess(b: Build, host: Host, egressId: string): Promise<ServerHandle> {
  if (host.transport === "port") return { url: `http://127.0.0.1:${host.port}`, password: b.password };
  const viaExec = execFetch(serverConnector(b.engine, egressId));
  b.closers.push(viaExec.close);
  const targets = reverseTargets(b.spec.forwardPorts, host.egress.upstreams);
  if (targets.length > 0) {
    const relays = await startReverseRelays(b.engine, egressId, targets, (line) =>
      b.remember(line, "egress"),
    );
    b.closers.push(() => relays.close());
  }
  // The server's own address inside (the Host header it sees); the connections are exec streams.
  return { url: "http://127.0.0.1:4096", password: b.password, fetch: viaExec.fetch };
}

/** The group of the host's Docker socket, for a sandbox that asked for it by name (C8). */
async function dockerSocketGid(spec: SandboxSpec): Promise<number | undefined> {
  if (spec.hostDockerSocket !== true) return undefined;
  const st = await stat(DOCKER_SOCKET).catch(() => undefined);
  if (!st?.isSocket()) {
    throw new OcboxError(
      "CONFIG",
      `unsafe.hostDockerSocket is on, but ${DOCKER_SOCKET} is not a socket here`,
      {
        fix: "Run the engine with its default socket, or turn unsafe.hostDockerSocket off.",
      },
    );
  }
  return st.gid;
}

/**
 * The agent's run files. The password and the generated config are root's and read-only (the
 * agent reads them, never rewrites them); the auth.json copy is the agent's, so that OpenCode can
 * refresh a token in it (D2); it goes with the container's volume.
 */
async function runVolumeFiles(spec: SandboxSpec, password: string): Promise<StagedFile[]> {
  const root = { uid: 0, gid: 0 };
  return [
    { name: "server-password", content: password, mode: 0o444, owner: root },
    ...(spec.opencodeConfig
      ? [
          {
            name: "opencode.json",
            content: JSON.stringify(spec.opencodeConfig, null, 2),
            mode: 0o444,
            owner: root,
          },
        ]
      : []),
    ...(spec.authFile !== undefined
      ? [{ name: "auth.json", content: await authFileCopy(spec, spec.authFile) }]
      : []),
    ...(await modelsRunFiles(spec)),
  ];
}

/**
 * The per-container copy of the host auth.json: only the providers the plan named, none holding a
 * gateway's key; `{}` when there is no file. The host file is only read.
 */
async function authFileCopy(spec: SandboxSpec, file: string): Promise<string> {
  const text = await readFile(file, "utf8").catch((e: NodeJS.ErrnoException) => {
    if (e.code === "ENOENT") return "{}";
    throw new OcboxError("SANDBOX_START", `cannot read ${file}: ${e.code ?? e.message}`, {
      fix: "Check the file's permissions, or move it away to start without OpenCode credentials.",
    });
  });
  const keys = (spec.egress?.gateways ?? []).flatMap((g) => (g.key !== undefined ? [g.key] : []));
  return authCopy(text, file, spec.authProviders ?? [], keys).text;
}

/** A short random id for a run. */
export function newRunId(): string {
  return randomBytes(4).toString("hex");
}
