// Copy mode's figures (issue 14): copy-in and sync-back time for a 10 000-file, 100 MB workspace,
// through the real engine's archive API (a created, never started container of the sandbox image
// with a workspace volume, as `ocbox run --copy` uses). Sync back: with nothing changed, and with
// 100 files changed in the volume. Usage: npm run build && node bench/copy-mode.js [runs] [BEFORE_DIST]
// With BEFORE_DIST (the dist/ of an older build, e.g. one made from an earlier commit), each round
// also syncs with that build's sync back (whole tree archived and staged), on the same volume, so
// the figures are paired before/after in one run.
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os, { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureImages } from "../dist/image/build.js";
import { DockerEngine } from "../dist/runtime/docker-engine.js";
import { DEFAULT_COPY_BACK_CAPS } from "../dist/sandbox/copy-back-policy.js";
import { excludedBy } from "../dist/sandbox/copy-excludes.js";
import { copyWorkspaceIn } from "../dist/sandbox/workspace-copy-in.js";
import { syncWorkspaceBack } from "../dist/sandbox/workspace-copy-sync.js";
import { prepareWorkspaceVolume } from "../dist/sandbox/workspace-volume.js";
import { fmt, machine, summary, writeResults } from "./lib.js";

const runs = Number(process.argv[2] ?? 3);
const beforeDist = process.argv[3];
const before = beforeDist ? await import(`${beforeDist}/sandbox/workspace-copy-sync.js`) : undefined;
const FILES = 10_000;
const BYTES = 100 * 1024 * 1024;
const engine = new DockerEngine();
const images = await ensureImages(engine);
const agent = { uid: 64000, gid: 64000 };
const labels = { "dev.ocbox.managed": "true", "dev.ocbox.bench": "copy-mode" };

function workspace() {
  const ws = mkdtempSync(join(tmpdir(), "ocbox-bench-copy-"));
  const size = BYTES / FILES;
  for (let i = 0; i < FILES; i++) {
    const dir = join(ws, `d${i % 100}`);
    if (i < 100) mkdirSync(dir);
    writeFileSync(join(dir, `f${i}.txt`), randomBytes(size));
  }
  return ws;
}

const copyIn = [];
const syncSame = [];
const syncChanged = [];
const syncAgain = [];
const beforeSame = [];
const beforeChanged = [];
for (let r = 0; r < runs; r++) {
  const ws = workspace();
  const volume = `ocbox-bench-copy-${randomBytes(3).toString("hex")}`;
  await prepareWorkspaceVolume(engine, {
    name: volume,
    image: images.sandbox.tag,
    agentUser: agent,
    sandboxId: "bench",
    labels,
  });
  const id = await engine.createContainer({
    name: `${volume}-c`,
    image: images.sandbox.tag,
    labels,
    env: {},
    user: "64000:64000",
    networkMode: "none",
    mounts: [{ type: "volume", source: volume, target: "/workspace" }],
    tmpfs: {},
    readOnlyRoot: true,
    capDrop: ["ALL"],
    capAdd: [],
    securityOpt: [],
    limits: {},
    stopTimeout: 1,
    logMaxSize: "1m",
    logMaxFiles: 1,
  });
  try {
    const t0 = performance.now();
    const copied = await copyWorkspaceIn(engine, id, "/workspace", ws, agent, excludedBy([]));
    copyIn.push((performance.now() - t0) / 1000);
    const source = { image: images.sandbox.tag, volume, labels };
    const options = { caps: DEFAULT_COPY_BACK_CAPS, exclude: [] };
    const same = await syncWorkspaceBack(engine, source, ws, copied.base, options);
    syncSame.push(same.ms / 1000);
    // The next sync, nothing changed: the base now has each file's stamp, no file is read.
    const again = await syncWorkspaceBack(engine, source, ws, same.base, options);
    syncAgain.push(again.ms / 1000);
    // 100 files changed "by the agent" as the sync sees it: their base entries differ.
    const changedBase = new Map(same.base);
    for (let i = 0; i < 100; i++)
      changedBase.set(`d${i}/f${i}.txt`, { kind: "file", size: 1, hash: "x", mode: 0o644 });
    const changed = await syncWorkspaceBack(engine, source, ws, changedBase, options);
    syncChanged.push(changed.ms / 1000);
    if (before) {
      const old = { caps: DEFAULT_COPY_BACK_CAPS, excluded: excludedBy([]) };
      beforeSame.push(
        (await before.syncWorkspaceBack(engine, id, "/workspace", ws, copied.base, old)).ms / 1000,
      );
      beforeChanged.push(
        (await before.syncWorkspaceBack(engine, id, "/workspace", ws, changedBase, old)).ms / 1000,
      );
    }
    console.log(
      `run ${r + 1}: copy-in ${copyIn.at(-1).toFixed(2)} s (${copied.files} files, ${(copied.bytes / 2 ** 20).toFixed(0)} MiB), sync back unchanged ${syncSame.at(-1).toFixed(2)} s (first), ${syncAgain.at(-1).toFixed(2)} s (next), 100 changed ${syncChanged.at(-1).toFixed(2)} s (${changed.fetched} fetched)` +
        (before
          ? `; before: unchanged ${beforeSame.at(-1).toFixed(2)} s, 100 changed ${beforeChanged.at(-1).toFixed(2)} s`
          : ""),
    );
  } finally {
    await engine.removeContainer(id);
    await engine.removeVolume(volume);
    rmSync(ws, { recursive: true, force: true });
  }
}
const result = {
  machine: machine(),
  files: FILES,
  bytes: BYTES,
  copyIn: summary(copyIn),
  syncUnchanged: summary(syncSame),
  sync100Changed: summary(syncChanged),
  syncUnchangedNext: summary(syncAgain),
  ...(before
    ? {
        before: {
          dist: beforeDist,
          syncUnchanged: summary(beforeSame),
          sync100Changed: summary(beforeChanged),
        },
      }
    : {}),
  load: os.loadavg(),
};
console.log(
  `copy-in: ${fmt(result.copyIn)}\nsync back, unchanged: ${fmt(result.syncUnchanged)} (first), ${fmt(result.syncUnchangedNext)} (next)\nsync back, 100 changed: ${fmt(result.sync100Changed)}`,
);
if (before)
  console.log(
    `before (${beforeDist}): sync back, unchanged: ${fmt(result.before.syncUnchanged)}; 100 changed: ${fmt(result.before.sync100Changed)}`,
  );
console.log(`results: ${await writeResults("copy-mode", result)}`);
