// Sandbox start-to-ready (warm image), image build (cached) and sizes, smoke per-step times.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { smoke } from "../dist/executor/smoke.js";
import { ensureImages } from "../dist/image/build.js";
import { AGENT_UID } from "../dist/image/dockerfile.js";
import { DockerEngine } from "../dist/runtime/docker-engine.js";
import { DEFAULT_LIMITS, agentUserFor, currentHostUser } from "../dist/sandbox/spec.js";
import { newRunId, startSandbox } from "../dist/sandbox/start.js";
import { fmt, summary } from "./lib.js";

export async function benchStart({ runs = 5 } = {}) {
  const engine = new DockerEngine();
  const t0 = performance.now();
  const images = await ensureImages(engine);
  const cachedBuildS = (performance.now() - t0) / 1000;
  const host = currentHostUser();
  const ready = [];
  for (let i = 0; i < runs; i++) {
    const ws = mkdtempSync(join(tmpdir(), "ocbox-bench-"));
    const t = performance.now();
    const sandbox = await startSandbox(engine, {
      sandboxId: "bench",
      runId: newRunId(),
      workspace: ws,
      images: { sandbox: images.sandbox.tag, egress: images.egress.tag },
      agentUser: agentUserFor(host, AGENT_UID),
      hostUser: host,
      forwardPorts: [],
      hostPort: 0,
      env: {},
      limits: DEFAULT_LIMITS,
      server: { logLevel: "INFO", printLogs: true },
      lifetime: "session",
      readyTimeoutMs: 90_000,
    });
    ready.push((performance.now() - t) / 1000);
    await sandbox.stop();
    rmSync(ws, { recursive: true, force: true });
  }
  const report = await smoke(engine);
  const result = {
    startToReady: summary(ready),
    cachedImageCheckS: cachedBuildS,
    imageBytes: {
      sandbox: await engine.imageSize(images.sandbox.tag),
      egress: await engine.imageSize(images.egress.tag),
    },
    smoke: Object.fromEntries(report.steps.map((s) => [s.name, s.seconds])),
  };
  console.log(`sandbox start to ready: ${fmt(result.startToReady)}`);
  console.log(
    `cached image check: ${cachedBuildS.toFixed(2)} s; sizes: sandbox ${(result.imageBytes.sandbox / 1e6).toFixed(0)} MB, egress ${(result.imageBytes.egress / 1e6).toFixed(0)} MB`,
  );
  console.log(`smoke steps (s): ${JSON.stringify(result.smoke)}`);
  return result;
}
