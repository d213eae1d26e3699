// Scenario 4: the memory of an idle task sandbox (agent + egress sidecar) next to a bare
// `opencode serve` on the host and the peers' `docker run … opencode serve`, all idle at once for
// the same time; and the image sizes.
import { readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import Docker from "dockerode";
import { specFor, taskSandboxId } from "../dist/executor/task-sandbox-spec.js";
import { findOpencodeBinary } from "../dist/image/opencode-binary.js";
import { startSandbox } from "../dist/sandbox/start.js";
import { newWorkspace } from "./peers.js";

const MiB = 2 ** 20;

/** Resident memory of a process and all its descendants, from /proc. */
function treeRss(pid) {
  let kib = 0;
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    kib += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const children = readFileSync(`/proc/${pid}/task/${task}/children`, "utf8").trim();
      for (const child of children ? children.split(/\s+/) : []) kib += treeRss(Number(child)) / 1024;
    }
  } catch {
    // gone
  }
  return kib * 1024;
}

/** An image's layers, newest last: size in MB and the step that made it (the engine's history). */
async function layers(tag) {
  const history = await new Docker().getImage(tag).history();
  return history
    .reverse()
    .filter((h) => h.Size > 0)
    .map((h) => ({
      MB: h.Size / 1e6,
      step: (h.CreatedBy || "(base image)").replace(/^\/bin\/sh -c (#\(nop\)\s*)?/, "").slice(0, 90),
    }));
}

export async function benchFootprint(env, { idleS = 15 } = {}) {
  const ws = [newWorkspace(), newWorkspace(), newWorkspace()];
  const sandbox = await startSandbox(env.engine, specFor(env.profile, ws[0], taskSandboxId("bench-idle")));
  const bare = await env.bare.serve(ws[1]);
  const peer = await env.peers.start(ws[2]);
  try {
    await new Promise((r) => setTimeout(r, idleS * 1000));
    const [agent, egress, peerBytes] = await Promise.all([
      env.engine.memoryUsage(sandbox.agentId),
      env.engine.memoryUsage(sandbox.egressId),
      env.engine.memoryUsage(peer.id),
    ]);
    const result = {
      idleS,
      ocbox: {
        agentMiB: (agent ?? 0) / MiB,
        sidecarMiB: (egress ?? 0) / MiB,
        totalMiB: ((agent ?? 0) + (egress ?? 0)) / MiB,
      },
      bareServeRssMiB: treeRss(bare.child.pid) / MiB,
      peerDockerServeMiB: (peerBytes ?? 0) / MiB,
      imageMB: {
        sandbox: (await env.engine.imageSize(env.images.sandbox.tag)) / 1e6,
        egress: (await env.engine.imageSize(env.images.egress.tag)) / 1e6,
        bareOpencodeBinary:
          statSync(findOpencodeBinary(process.arch === "arm64" ? "arm64" : "x64").path).size / 1e6,
      },
      layers: { sandbox: await layers(env.images.sandbox.tag), egress: await layers(env.images.egress.tag) },
    };
    result.ratioToBareServe = result.ocbox.totalMiB / result.bareServeRssMiB;
    result.ratioToPeerDockerServe = result.ocbox.totalMiB / result.peerDockerServeMiB;
    console.log(
      `idle after ${idleS} s: ocbox ${result.ocbox.totalMiB.toFixed(0)} MiB (agent ${result.ocbox.agentMiB.toFixed(0)} + sidecar ${result.ocbox.sidecarMiB.toFixed(1)}), bare serve ${result.bareServeRssMiB.toFixed(0)} MiB RSS, peer docker serve ${result.peerDockerServeMiB.toFixed(0)} MiB`,
    );
    console.log(
      `images: sandbox ${result.imageMB.sandbox.toFixed(0)} MB, egress ${result.imageMB.egress.toFixed(0)} MB; bare binary ${result.imageMB.bareOpencodeBinary.toFixed(0)} MB`,
    );
    return result;
  } finally {
    await sandbox.stop();
    bare.stop();
    await env.peers.remove(peer.id);
    for (const w of ws) rmSync(w, { recursive: true, force: true });
  }
}
