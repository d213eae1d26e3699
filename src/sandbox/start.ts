import { randomBytes } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import type { OpencodeClient } from "@opencode-ai/sdk/v2";
import { OcboxError, errorMessage } from "../errors.js";
import { clientFor, waitHealthy, type ServerHandle } from "../opencode/client.js";
import type { Engine } from "../runtime/engine.js";
import { resourceLabels, type ResourceRole } from "../runtime/labels.js";
import { currentOwner } from "../runtime/owner.js";
import type { Decision } from "../egress/decisions.js";
import { resolveGatewayNetworks } from "../egress/gateway-network.js";
import { finishEgress, prepareEgress, readDecisions } from "../egress/sidecar.js";
import { freePort, portInUse } from "../util/free-port.js";
import {
  DOCKER_SOCKET,
  agentContainer,
  egressContainer,
  resourceNames,
  socketVolumeOptions,
  type Names,
} from "./containers.js";
import { startAptHelper } from "./apt-helper.js";
import { prepareCacheVolumes } from "./cache-volume-init.js";
import { lendWorkspace, loanLabel, needsOwnershipLoan, returnWorkspace } from "./ownership.js";
import { authCopy } from "./auth-copy.js";
import { createRunDir, newPassword, removeRunDir } from "./run-dir.js";
import { refuseSharedTree } from "./shared-tree.js";
import type { SandboxSpec } from "./spec.js";
import { checkWorkspaceBoundary } from "./workspace-guard.js";

const LISTENING = /opencode server listening on/;

export interface StartedSandbox extends AsyncDisposable {
  readonly spec: SandboxSpec;
  readonly names: Names;
  readonly server: ServerHandle;
  readonly port: number;
  readonly agentId: string;
  readonly egressId: string;
  /** Milliseconds from the call to a healthy server, and its parts. */
  readonly timings: { createMs: number; listeningMs: number; healthyMs: number };
  client(directory?: string): OpencodeClient;
  /** The last lines the agent container printed. */
  recentLogs(): string[];
  /** The egress proxy's allow/deny decisions so far (B6). */
  egressDecisions(): Promise<Decision[]>;
  /** Stop and remove everything this sandbox created; give the workspace back. Idempotent. */
  stop(): Promise<void>;
}

export interface StartOptions {
  signal?: AbortSignal;
  onLog?: (line: string, source: "agent" | "egress") => void;
}

/** Creation steps register their undo here; undo runs in reverse, each step once. */
class Cleanup {
  private readonly steps: Array<{ what: string; fn: () => Promise<unknown> }> = [];
  private running: Promise<void> | undefined;
  add(what: string, fn: () => Promise<unknown>) {
    this.steps.push({ what, fn });
  }
  run(): Promise<void> {
    this.running ??= (async () => {
      const failures: string[] = [];
      for (const step of this.steps.reverse()) {
        try {
          await step.fn();
        } catch (e) {
          failures.push(`${step.what}: ${errorMessage(e)}`);
        }
      }
      if (failures.length > 0) {
        throw new OcboxError("ENGINE", "some sandbox resources could not be removed", {
          detail: failures.join("\n"),
          fix: "Run `ocbox clean` to remove leftovers.",
        });
      }
    })();
    return this.running;
  }
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
  const cleanup = new Cleanup();
  const names = resourceNames(spec.sandboxId, spec.runId);
  const owner = currentOwner();
  const password = spec.password ?? newPassword();
  const logs: string[] = [];
  const remember = (line: string, source: "agent" | "egress") => {
    logs.push(source === "agent" ? line : `[egress] ${line}`);
    if (logs.length > 400) logs.shift();
    options.onLog?.(line, source);
  };
  const follow = new AbortController();
  cleanup.add("stop following logs", () => Promise.resolve(follow.abort()));

  try {
    await checkWorkspaceBoundary(spec.workspace);
    let port = spec.hostPort;
    if (port !== 0 && (await portInUse(port))) {
      throw new OcboxError("SANDBOX_START", `port ${port} on 127.0.0.1 is already in use`, {
        fix: "Free the port, choose another, or leave the port unset so ocbox picks a free one.",
      });
    }
    if (port === 0) port = await freePort();

    const runDir = await createRunDir(owner, spec.agentUser, {
      "server-password": password,
      ...(spec.opencodeConfig ? { "opencode.json": JSON.stringify(spec.opencodeConfig, null, 2) } : {}),
      ...(spec.authFile !== undefined ? { "auth.json": await authFileCopy(spec, spec.authFile) } : {}),
    });
    cleanup.add("remove run dir", () => removeRunDir(runDir));
    const egress = await prepareEgress(
      // B4: a gateway upstream on another Docker network is looked up now, for the sidecar only.
      await resolveGatewayNetworks(engine, spec.egress ?? { allow: [] }),
      spec.forwardPorts,
      owner,
      spec.agentUser,
    );
    cleanup.add("keep the egress decisions, remove the proxy's dir", () =>
      finishEgress(egress, spec.egress?.decisionLog),
    );

    const loan = needsOwnershipLoan(spec.hostUser, spec.agentUser)
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
        runDir,
        // The reaper keeps a staged dir while a container names it (detached sandboxes outlive us).
        ...(role === "egress" ? { egressDir: egress.dir, egressControl: egress.controlFile } : {}),
        port,
        ...(loan ? { loan } : {}),
      });

    // E11: the volumes exist and are the agent's before any container mounts them.
    if (spec.cacheVolumes?.length) {
      await prepareCacheVolumes(engine, {
        image: spec.images.sandbox,
        workspace: spec.workspace,
        agentUser: spec.agentUser,
        volumes: spec.cacheVolumes,
        onLine: (line) => remember(`ocbox: ${line}`, "agent"),
      });
    }

    if (loan) {
      // Never lend a tree another live sandbox uses: its agent could rewrite it under the walk.
      await refuseSharedTree(engine, spec.workspace, { sandboxId: spec.sandboxId, runId: spec.runId });
      await lendWorkspace(spec.workspace, spec.hostUser, spec.agentUser);
      cleanup.add("give the workspace back", () =>
        returnWorkspace(spec.workspace, spec.hostUser, spec.agentUser),
      );
    }

    options.signal?.throwIfAborted();
    await engine.createVolume(names.socketVolume, labels("sockets"), socketVolumeOptions(spec));
    cleanup.add("remove socket volume", () => engine.removeVolume(names.socketVolume));
    // C9 (only with apt.allow): the apt helper, before the agent that mounts its package volume.
    await startAptHelper(engine, spec, labels, (what, fn) => cleanup.add(what, fn));

    // Neither container needs the other to exist or run (they meet through the socket volume,
    // each side's relays connect lazily): create, start and remove them together.
    const [egressId, agentId] = await createBoth(
      engine,
      cleanup,
      () => engine.createContainer(egressContainer(spec, names, port, labels("egress"), egress)),
      async () =>
        engine.createContainer(
          agentContainer(spec, names, runDir, labels("agent"), egress, await dockerSocketGid(spec)),
        ),
    );
    // Again now that our agent's labels are in the engine: of two starts on one tree at once, each
    // sees the other here, so neither runs on a tree the other was lent.
    if (loan)
      await refuseSharedTree(engine, spec.workspace, { sandboxId: spec.sandboxId, runId: spec.runId });
    const createMs = performance.now() - started;

    options.signal?.throwIfAborted();
    await Promise.all([engine.startContainer(egressId), engine.startContainer(agentId)]);

    // A follow that cannot start is not an error of its own here: assertAlive's state check
    // reports an engine that stopped answering, and a container that exited, as what they are.
    const ignoreFollow = () => undefined;
    const listening = new Promise<void>((resolve) => {
      engine
        .followLogs(
          agentId,
          (line) => {
            remember(line, "agent");
            if (LISTENING.test(line)) resolve();
          },
          follow.signal,
        )
        .catch(ignoreFollow);
      engine.followLogs(egressId, (line) => remember(line, "egress"), follow.signal).catch(ignoreFollow);
    });
    const assertAlive = async () => {
      for (const [id, what] of [
        [agentId, "agent"],
        [egressId, "egress sidecar"],
      ] as const) {
        const state = await engine.containerState(id);
        if (!state?.running) {
          throw new OcboxError(
            "SANDBOX_NOT_READY",
            `the ${what} container exited (code ${state?.exitCode ?? "?"}) before the server was ready`,
          );
        }
      }
    };
    const deadline = Date.now() + spec.readyTimeoutMs;
    let heard = false;
    void listening.then(() => (heard = true));
    await Promise.race([
      listening,
      (async () => {
        // The log line is the fast path; keep checking that the containers live while we wait,
        // and stop checking once the line is seen.
        while (!heard) {
          await new Promise((r) => setTimeout(r, 250));
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

    const server: ServerHandle = { url: `http://127.0.0.1:${port}`, password };
    await waitHealthy(server, {
      timeoutMs: Math.max(1000, deadline - Date.now()),
      ...(options.signal ? { signal: options.signal } : {}),
      check: assertAlive,
    });
    const healthyMs = performance.now() - started;

    const stop = () => cleanup.run();
    return {
      spec,
      names,
      server,
      port,
      agentId,
      egressId,
      timings: { createMs, listeningMs, healthyMs },
      client: (directory) => clientFor(server, directory),
      recentLogs: () => [...logs],
      egressDecisions: () => readDecisions(egress),
      stop,
      [Symbol.asyncDispose]: stop,
    };
  } catch (e) {
    await cleanup.run().catch(() => undefined);
    if (e instanceof OcboxError && e.code === "SANDBOX_NOT_READY") {
      throw new OcboxError(e.code, e.message, {
        detail: [e.detail, "last lines of the sandbox's log:", ...logs.slice(-25)].filter(Boolean).join("\n"),
        fix: "The containers were removed. Read the log above; `ocbox smoke` checks each part in turn.",
      });
    }
    if (options.signal?.aborted) throw new OcboxError("INTERRUPTED", "interrupted; the sandbox was removed");
    throw e;
  }
}

/**
 * Create the egress sidecar and the agent container at once; one cleanup step removes whichever
 * exist, both at once (the agent gets its stop timeout, for OpenCode's own shutdown, before it is
 * removed). Throws the first creation failure.
 */
async function createBoth(
  engine: Engine,
  cleanup: Cleanup,
  createEgress: () => Promise<string>,
  createAgent: () => Promise<string>,
): Promise<[egressId: string, agentId: string]> {
  const [egress, agent] = await Promise.allSettled([createEgress(), createAgent()]);
  const egressId = egress.status === "fulfilled" ? egress.value : undefined;
  const agentId = agent.status === "fulfilled" ? agent.value : undefined;
  cleanup.add("remove the agent and egress containers", async () => {
    const removed = await Promise.allSettled([
      agentId && engine.stopContainer(agentId, 10).then(() => engine.removeContainer(agentId)),
      egressId && engine.removeContainer(egressId),
    ]);
    const failed = removed.flatMap((r) => (r.status === "rejected" ? [errorMessage(r.reason)] : []));
    if (failed.length > 0) throw new Error(failed.join("; "));
  });
  if (egress.status === "rejected") throw egress.reason;
  if (agent.status === "rejected") throw agent.reason;
  return [egress.value, agent.value];
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
