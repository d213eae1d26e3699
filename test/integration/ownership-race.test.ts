/**
 * Host boundary, item 5: the workspace loan (ocbox as root lends a tree to the agent uid) races a
 * hostile process that swaps a dir of the tree for a symlink to a decoy dir outside it, owned by
 * root. Nothing outside the tree may change owner, and a tree that a live sandbox uses is never
 * lent to another. The decoy stands in for `/`: the old path walk would re-own whatever the link
 * points at, and a test must not give the host's own root away when it finds that bug.
 */
import { spawn } from "node:child_process";
import { chmodSync, chownSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { ensureImages } from "../../src/image/build.js";
import { AGENT_UID } from "../../src/image/dockerfile.js";
import { DockerEngine } from "../../src/runtime/docker-engine.js";
import { LABEL } from "../../src/runtime/labels.js";
import { swapOwner } from "../../src/sandbox/ownership.js";
import { DEFAULT_LIMITS, agentUserFor, currentHostUser, type SandboxSpec } from "../../src/sandbox/spec.js";
import { newRunId, startSandbox } from "../../src/sandbox/start.js";

const engine = new DockerEngine();
const host = currentHostUser();
const agent = agentUserFor(host, AGENT_UID);
const FILES = 300;

if (host.uid !== 0) throw new Error("these tests play the loan, which exists only when ocbox runs as root");

/** A tree with x/ holding FILES files, and a root-owned decoy outside it with the same names. */
function setup() {
  const base = mkdtempSync(join(tmpdir(), "ocbox-race-"));
  chmodSync(base, 0o755); // the hostile side (the agent uid) reaches the tree
  const tree = join(base, "tree");
  const decoy = join(base, "decoy");
  mkdirSync(join(tree, "x"), { recursive: true });
  mkdirSync(decoy);
  writeFileSync(join(tree, "README.md"), "hi\n");
  for (let i = 0; i < FILES; i++) {
    writeFileSync(join(tree, "x", `f${i}`), "tree\n");
    writeFileSync(join(decoy, `f${i}`), "host\n");
  }
  return { base, tree, decoy };
}

/** Owners in the decoy that are not root's: what a followed link gave away. */
function decoyDamage(decoy: string): string[] {
  const bad = [decoy, ...readdirSync(decoy).map((n) => join(decoy, n))].filter((p) => lstatSync(p).uid !== 0);
  return bad.map((p) => `${p} now uid ${lstatSync(p).uid}`);
}

function spec(
  workspace: string,
  sandboxId: string,
  images: { sandbox: string; egress: string },
): SandboxSpec {
  return {
    sandboxId,
    runId: newRunId(),
    workspace,
    images,
    agentUser: agent,
    hostUser: host,
    forwardPorts: [],
    hostPort: 0,
    env: {},
    limits: DEFAULT_LIMITS,
    server: { logLevel: "INFO", printLogs: false },
    lifetime: "session",
    readyTimeoutMs: 90_000,
  };
}

/** Lend the tree again and again for `ms` (what a second sandbox's start would do, unrefused). */
async function lendRepeatedly(tree: string, ms: number): Promise<number> {
  let walks = 0;
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // Failures (an entry swapped away mid-walk) are not the question here: owners outside are.
    await swapOwner(tree, host, agent).catch(() => undefined);
    walks++;
  }
  return walks;
}

describe("the workspace loan against a swapped symlink", () => {
  it("the agent of a live sandbox on the tree swaps x/ for a link to a root-owned decoy: nothing outside is re-owned, and a second loan is refused", async () => {
    const images = await ensureImages(engine);
    const tags = { sandbox: images.sandbox.tag, egress: images.egress.tag };
    const { tree, decoy } = setup();
    const a = await startSandbox(engine, spec(tree, "it-race-a", tags));
    try {
      // The tree is the agent's now (lent); the decoy is root's.
      expect(lstatSync(join(tree, "x", "f0")).uid).toBe(agent.uid);
      // B on the same tree, and on a dir inside it, is refused with a typed error.
      for (const ws of [tree, join(tree, "x")]) {
        const b = spec(ws, "it-race-b", tags);
        await expect(startSandbox(engine, b)).rejects.toMatchObject({ code: "WORKSPACE_IN_USE" });
        expect(await engine.listContainers([`${LABEL.run}=${b.runId}`], true)).toEqual([]);
      }
      // The agent (inside its container, as its own uid) swaps x for a link that the host resolves.
      const swap =
        `end=$((SECONDS+25)); cd /workspace; while [ $SECONDS -lt $end ]; do ` +
        `mv x x.real && ln -s ${decoy} x; sleep 0.002; rm -f x; mv x.real x; done; echo swapped`;
      const swapping = engine.exec(a.agentId, ["bash", "-c", swap]);
      await sleep(1000);
      const walks = await lendRepeatedly(tree, 20_000);
      const swapped = await swapping;
      expect(swapped.stdout).toContain("swapped");
      expect(walks).toBeGreaterThan(20);
      expect(decoyDamage(decoy)).toEqual([]);
    } finally {
      await a.stop();
    }
    // Given back: the tree is root's again, the decoy never changed.
    expect(lstatSync(join(tree, "x", "f0")).uid).toBe(0);
    expect(decoyDamage(decoy)).toEqual([]);
  });

  it("a host-side process swaps x/ for a link to a root-owned decoy during lend and give-back: nothing outside is re-owned", async () => {
    const { tree, decoy } = setup();
    // The hostile side runs as the agent uid, as the agent's processes do, and may always rename
    // in the tree's top dir (mode 0777 survives every change of owner).
    for (const p of [tree, join(tree, "x"), ...readdirSync(join(tree, "x")).map((n) => join(tree, "x", n))]) {
      chownSync(p, agent.uid, agent.gid);
    }
    chmodSync(tree, 0o777);
    const loop =
      `const fs=require("fs");const end=Date.now()+15000;process.chdir(${JSON.stringify(tree)});let n=0;` +
      `const restore=()=>{try{if(fs.lstatSync("x").isSymbolicLink())fs.unlinkSync("x")}catch(e){}` +
      `try{fs.renameSync("x.real","x")}catch(e){}};` +
      `while(Date.now()<end){try{fs.renameSync("x","x.real");fs.symlinkSync(${JSON.stringify(decoy)},"x");n++;` +
      `const t=Date.now()+1;while(Date.now()<t);}catch(e){}restore()}` +
      `console.log(n)`;
    const child = spawn(process.execPath, ["-e", loop], { uid: agent.uid, gid: agent.gid });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    const exited = new Promise((resolve) => child.on("close", resolve));
    let walks = 0;
    const end = Date.now() + 13_000;
    while (Date.now() < end) {
      // Lend (root's entries to the agent) and give back (the agent's to root), as a loan does.
      await swapOwner(tree, host, agent).catch(() => undefined);
      await swapOwner(tree, agent, host).catch(() => undefined);
      walks++;
    }
    await exited;
    expect(Number(out.trim())).toBeGreaterThan(100);
    expect(walks).toBeGreaterThan(20);
    expect(decoyDamage(decoy)).toEqual([]);
  });

  it("two sandboxes started at once on one tree never both run: the later check sees the other's labels", async () => {
    const images = await ensureImages(engine);
    const tags = { sandbox: images.sandbox.tag, egress: images.egress.tag };
    const { tree } = setup();
    const specs = [spec(tree, "it-race-c", tags), spec(tree, "it-race-d", tags)];
    const started = await Promise.allSettled(specs.map((s) => startSandbox(engine, s)));
    try {
      expect(started.filter((r) => r.status === "fulfilled").length).toBeLessThanOrEqual(1);
      for (const r of started) {
        if (r.status === "rejected") expect(r.reason).toMatchObject({ code: "WORKSPACE_IN_USE" });
      }
    } finally {
      for (const r of started) if (r.status === "fulfilled") await r.value.stop();
    }
    for (const s of specs) expect(await engine.listContainers([`${LABEL.run}=${s.runId}`], true)).toEqual([]);
    expect(lstatSync(join(tree, "x", "f0")).uid).toBe(0);
  });
});
