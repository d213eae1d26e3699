// Issue 4's sidecar figures. (a) What the egress sidecar adds to a sandbox's start: the full
// `startSandbox` against the hardened agent container started alone through the engine (same spec,
// same socket volume and run dir, minus the sidecar and its staging), both timed to OpenCode's
// listening line, paired, alternating order. (b) The sidecar's memory (squid and the socat relays),
// idle and after requests through the model gateway, the forwarded port and the proxy. (c) The
// latency one model round trip gains on the way: the same chat completion from inside the sandbox
// through the model gateway (squid) and through a forwarded port (socat relays), against the host
// asking the scripted model directly; every figure is curl's own `time_total`, a new connection
// per request, so the process start of curl is never counted.
import { rmSync } from "node:fs";
import { specFor, taskSandboxId } from "../dist/executor/task-sandbox-spec.js";
import { currentOwner } from "../dist/runtime/owner.js";
import { resourceLabels } from "../dist/runtime/labels.js";
import { agentContainer, resourceNames, socketVolumeOptions } from "../dist/sandbox/containers.js";
import { createRunDir, newPassword, removeRunDir } from "../dist/sandbox/run-dir.js";
import { newRunId, startSandbox } from "../dist/sandbox/start.js";
import { median, summary } from "./lib.js";
import { newWorkspace, runProcess } from "./peers.js";

const MB = 1e6;
const LISTENING = /opencode server listening on/;
/** The model gateway's port inside the sandbox. */
const GATEWAY_PORT = 9411;
const CHAT = JSON.stringify({ model: "scripted", messages: [{ role: "user", content: "ping" }] });

/** The agent container alone: socket volume, run dir, container, started, to its listening line. */
async function agentAlone(engine, spec) {
  const names = resourceNames(spec.sandboxId, spec.runId);
  const owner = currentOwner();
  const t = performance.now();
  const runDir = await createRunDir(owner, spec.agentUser, {
    "server-password": newPassword(),
    "opencode.json": JSON.stringify(spec.opencodeConfig, null, 2),
  });
  const labels = (role) =>
    resourceLabels({
      sandboxId: spec.sandboxId,
      runId: spec.runId,
      role,
      owner,
      lifetime: "session",
      startedAt: new Date(),
      workspace: spec.workspace,
      runDir,
    });
  const follow = new AbortController();
  let id;
  try {
    await engine.createVolume(names.socketVolume, labels("sockets"), socketVolumeOptions(spec));
    id = await engine.createContainer(agentContainer(spec, names, runDir, labels("agent")));
    await engine.startContainer(id);
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("agent alone: no listening line in 90 s")), 90_000);
      void engine
        .followLogs(
          id,
          (line) => {
            if (LISTENING.test(line)) {
              clearTimeout(timer);
              resolve();
            }
          },
          follow.signal,
        )
        .then(() => reject(new Error("agent alone: the container stopped before listening")));
    });
    return (performance.now() - t) / 1000;
  } finally {
    follow.abort();
    if (id) {
      await engine.stopContainer(id, 10);
      await engine.removeContainer(id);
    }
    await engine.removeVolume(names.socketVolume).catch(() => undefined);
    await removeRunDir(runDir);
  }
}

/** `count` chat completions, one curl each, run by `sh` (in the sandbox or on the host); seconds each. */
const curlLoop = (url, count) =>
  `for i in $(seq ${count}); do curl -s --noproxy '*' -o /dev/null -w '%{http_code} %{time_total}\\n' -H 'content-type: application/json' -d '${CHAT}' ${url}; done`;

function parseTimes(out, who) {
  const lines = out.trim().split("\n").filter(Boolean);
  const bad = lines.filter((l) => !l.startsWith("200 "));
  if (bad.length || lines.length === 0)
    throw new Error(
      `${who}: ${bad.length} of ${lines.length} requests failed: ${bad.slice(0, 3).join(", ")}`,
    );
  return lines.map((l) => Number(l.split(" ")[1]) * 1000);
}

export async function benchEgress(env, { runs = 5, requests = 100, idleS = 10 } = {}) {
  const { engine, model } = env;
  const result = {};

  // (a) start: the full sandbox against the agent alone, paired, alternating order.
  const full = [];
  const fullHealthy = [];
  const alone = [];
  for (let i = 0; i < runs; i++) {
    const order = i % 2 ? ["alone", "full"] : ["full", "alone"];
    for (const which of order) {
      const ws = newWorkspace();
      try {
        const spec = specFor(env.profile, ws, taskSandboxId("bench-egress"));
        if (which === "alone") {
          alone.push(await agentAlone(engine, { ...spec, runId: newRunId() }));
        } else {
          const sandbox = await startSandbox(engine, spec);
          full.push(sandbox.timings.listeningMs / 1000);
          fullHealthy.push(sandbox.timings.healthyMs / 1000);
          await sandbox.stop();
        }
      } finally {
        rmSync(ws, { recursive: true, force: true });
      }
    }
  }
  result.start = {
    fullToListening: summary(full),
    fullToHealthy: summary(fullHealthy),
    agentAloneToListening: summary(alone),
    sidecarAddsS: summary(full.map((f, k) => f - alone[k])),
  };
  console.log(
    `egress: start to listening, full sandbox ${median(full).toFixed(2)} s, agent alone ${median(alone).toFixed(2)} s; the sidecar adds ${result.start.sidecarAddsS.median.toFixed(2)} s (${result.start.sidecarAddsS.min.toFixed(2)}–${result.start.sidecarAddsS.max.toFixed(2)}), n=${runs}`,
  );

  // (b) and (c): one sandbox with the scripted model behind a gateway and a forwarded port.
  const ws = newWorkspace();
  const profile = {
    ...env.profile,
    forwardPorts: [model.port],
    egress: {
      allow: [],
      gateways: [{ agentPort: GATEWAY_PORT, upstream: `http://127.0.0.1:${model.port}` }],
    },
  };
  const sandbox = await startSandbox(engine, specFor(profile, ws, taskSandboxId("bench-egress")));
  try {
    await new Promise((r) => setTimeout(r, idleS * 1000));
    const idleBytes = await engine.memoryUsage(sandbox.egressId);
    const turns = (n) => model.setScenario({ turns: Array.from({ length: n }, () => ({ text: "done" })) });
    const inside = async (url, who, count) => {
      const r = await engine.exec(sandbox.agentId, ["sh", "-c", curlLoop(url, count)]);
      if (r.exitCode !== 0) throw new Error(`${who}: exit ${r.exitCode} ${r.stderr.slice(-400)}`);
      return parseTimes(r.stdout, who);
    };
    const path = "/v1/chat/completions";
    // Warm-up: the first request of each path (squid's first connection, the relay's first fork).
    turns(6);
    await inside(`http://127.0.0.1:${GATEWAY_PORT}${path}`, "gateway warm-up", 3).catch(() => undefined);
    await inside(`http://127.0.0.1:${model.port}${path}`, "forwarded warm-up", 3).catch(() => undefined);
    // Interleaved batches, so that a change of load on the machine hits the three alike.
    const direct = [];
    const forwarded = [];
    const gateway = [];
    const rounds = 5;
    const batch = Math.ceil(requests / rounds);
    turns(batch * rounds * 3);
    for (let i = 0; i < rounds; i++) {
      const host = await runProcess("sh", ["-c", curlLoop(`http://127.0.0.1:${model.port}${path}`, batch)]);
      direct.push(...parseTimes(host.stdout, "host direct"));
      forwarded.push(...(await inside(`http://127.0.0.1:${model.port}${path}`, "forwarded port", batch)));
      gateway.push(...(await inside(`http://127.0.0.1:${GATEWAY_PORT}${path}`, "model gateway", batch)));
    }
    // A few requests the proxy denies (the allowlist is empty): its CONNECT path and its log.
    await engine.exec(sandbox.agentId, [
      "sh",
      "-c",
      "for i in $(seq 20); do curl -s -o /dev/null -m 5 https://example.com/; done; true",
    ]);
    const afterBytes = await engine.memoryUsage(sandbox.egressId);
    const added = (xs) => median(xs) - median(direct);
    result.memory = {
      idleS,
      idleMB: (idleBytes ?? 0) / MB,
      afterRequestsMB: (afterBytes ?? 0) / MB,
      requests: forwarded.length + gateway.length + 26,
    };
    result.roundTripMs = {
      requests: direct.length,
      hostDirect: summary(direct),
      forwardedPort: summary(forwarded),
      gateway: summary(gateway),
      // Median minus the host's median.
      forwardedAddsMs: added(forwarded),
      gatewayAddsMs: added(gateway),
    };
    console.log(
      `egress: sidecar memory idle ${result.memory.idleMB.toFixed(1)} MB, after ${result.memory.requests} requests ${result.memory.afterRequestsMB.toFixed(1)} MB`,
    );
    console.log(
      `egress: one chat completion, median of ${requests}: host direct ${median(direct).toFixed(2)} ms, forwarded port ${median(forwarded).toFixed(2)} ms, model gateway ${median(gateway).toFixed(2)} ms`,
    );
  } finally {
    await sandbox.stop();
    rmSync(ws, { recursive: true, force: true });
  }
  return result;
}
