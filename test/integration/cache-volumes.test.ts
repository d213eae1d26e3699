/**
 * Issue 5, E11 and C8 for the executor: performance volumes persist a workspace dir between the
 * tasks of a project (owner initialised once), and the opt-in Docker socket reaches the host's
 * engine, with a warning every time. Real engine, real sandbox, real opencode, scripted model.
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { appendFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { loadProjectConfig } from "../../src/config/load.js";
import { runTask } from "../../src/executor/prepare.js";
import { AGENT_UID } from "../../src/image/dockerfile.js";
import { ensureImages, type ImageSet } from "../../src/image/build.js";
import { DockerEngine } from "../../src/runtime/docker-engine.js";
import { LABEL } from "../../src/runtime/labels.js";
import { CACHE_INIT_KIND } from "../../src/sandbox/cache-volume-init.js";
import { cacheVolumeName } from "../../src/sandbox/cache-volumes.js";
import { reap } from "../../src/sandbox/reaper.js";
import { agentUserFor, currentHostUser } from "../../src/sandbox/spec.js";
import { startScriptedModel, type ScriptedModel } from "../../src/scripted-model/server.js";
import { scriptedOpencodeConfig } from "../../src/scripted-model/opencode-config.js";
import { ocbox } from "../helpers/cli.js";
import { containersOf, makeProject, removeHome, tempHome } from "../helpers/project.js";

const engine = new DockerEngine();
let images: ImageSet;
let model: ScriptedModel | undefined;
const agent = agentUserFor(currentHostUser(), AGENT_UID);

beforeAll(async () => {
  images = await ensureImages(engine);
});

afterEach(async () => {
  await model?.close();
  model = undefined;
  // No labelled container of this process is left, init containers included.
  expect(await engine.listContainers([`${LABEL.ownerPid}=${process.pid}`], true)).toEqual([]);
});

const contract = { outcome: "COMPLETE", summary: "done" };
const bash = (command: string) => ({
  toolCalls: [{ name: "bash", arguments: { command, description: "run" } }],
});

function docker(...args: string[]): string {
  return execFileSync("docker", args, { encoding: "utf8" }).trim();
}

describe("performance volumes (E11)", () => {
  it("a dir written by one task persists for the next via its volume, the host's copy untouched; owner initialised once", async () => {
    const ws = mkdtempSync(join(tmpdir(), "ocbox-cache-"));
    writeFileSync(join(ws, "ocbox.yaml"), "volumes: [node_modules]\n");
    // The host's own node_modules is not what the agent sees.
    mkdirSync(join(ws, "node_modules"));
    writeFileSync(join(ws, "node_modules", "host-only.txt"), "host\n");
    const { sandboxId } = await loadProjectConfig(ws);
    const volume = cacheVolumeName(sandboxId, "node_modules");
    // Watch the engine's events live (its replay buffer is short on a busy engine).
    const events = spawn(
      "docker",
      [
        "events",
        "--filter",
        "event=start",
        "--filter",
        `label=${LABEL.kind}=${CACHE_INIT_KIND}`,
        "--filter",
        `label=${LABEL.sandbox}=${sandboxId}`,
        "--format",
        "{{.Actor.Attributes.name}}",
      ],
      { stdio: ["ignore", "pipe", "ignore"] },
    );
    let initStarts = "";
    events.stdout.on("data", (d: Buffer) => (initStarts += d.toString()));
    await new Promise((r) => setTimeout(r, 500));
    model = await startScriptedModel({
      scenario: {
        turns: [
          bash(
            "mkdir -p /workspace/node_modules/x && echo one > /workspace/node_modules/x/index.js" +
              " && stat -c %u:%g /workspace/node_modules > /workspace/owner.txt",
          ),
          { structured: contract },
          bash(
            "cat /workspace/node_modules/x/index.js > /workspace/seen.txt; ls -A /workspace/node_modules > /workspace/ls.txt",
          ),
          { structured: contract },
        ],
      },
    });
    try {
      const logs: string[][] = [];
      for (let i = 0; i < 2; i++) {
        const lines: string[] = [];
        const result = await runTask({
          workspace: ws,
          prompt: "install",
          model: "scripted/scripted",
          opencodeConfig: scriptedOpencodeConfig(model.url),
          engine,
          images,
          onEvent: (e) => lines.push(e.message),
        });
        expect(result).toMatchObject({ outcome: "COMPLETE", sandbox: "cold" });
        expect(result.warnings).toBeUndefined();
        logs.push(lines);
      }
      // Inside: the agent owns the volume's root, and the second task saw the first task's file.
      expect(readFileSync(join(ws, "owner.txt"), "utf8").trim()).toBe(`${agent.uid}:${agent.gid}`);
      expect(readFileSync(join(ws, "seen.txt"), "utf8")).toBe("one\n");
      expect(readFileSync(join(ws, "ls.txt"), "utf8").trim()).toBe("x");
      // Outside: the host's dir is as it was.
      expect(readdirSync(join(ws, "node_modules"))).toEqual(["host-only.txt"]);
      // The volume, by its stable name, labelled as a cache of this project and owned by the agent.
      const [found, ...others] = await engine.listVolumes([
        `${LABEL.kind}=cache`,
        `${LABEL.sandbox}=${sandboxId}`,
      ]);
      expect(others).toEqual([]);
      expect(found).toMatchObject({
        name: volume,
        labels: { [LABEL.cachePath]: "node_modules", [LABEL.cacheOwner]: `${agent.uid}:${agent.gid}` },
      });
      const mountpoint = docker("volume", "inspect", "-f", "{{.Mountpoint}}", volume);
      expect(statSync(mountpoint)).toMatchObject({ uid: agent.uid, gid: agent.gid });
      expect(statSync(join(mountpoint, "x", "index.js")).uid).toBe(agent.uid);
      // The init container ran once: at the first task, never at the second.
      await new Promise((r) => setTimeout(r, 1000));
      expect(initStarts.split("\n").filter(Boolean)).toHaveLength(1);
      expect(logs[0]!.some((l) => l.includes(`cache volume ${volume} created`))).toBe(true);
      expect(logs[1]!.some((l) => l.includes("cache volume"))).toBe(false);

      // The reaper keeps it; `ocbox clean --volumes` removes it.
      const reaped = await reap(engine);
      expect(reaped.volumes).not.toContain(volume);
      expect(await engine.listVolumes([`${LABEL.kind}=cache`, `${LABEL.sandbox}=${sandboxId}`])).toHaveLength(
        1,
      );
      const clean = await ocbox(["clean", "--volumes", "--json"]);
      expect(clean.code, clean.stderr).toBe(0);
      expect((JSON.parse(clean.stdout) as { cacheVolumes: string[] }).cacheVolumes).toContain(volume);
    } finally {
      events.kill();
      for (const v of await engine.listVolumes([`${LABEL.kind}=cache`, `${LABEL.sandbox}=${sandboxId}`]))
        await engine.removeVolume(v.name);
    }
    expect(await engine.listVolumes([`${LABEL.kind}=cache`, `${LABEL.sandbox}=${sandboxId}`])).toEqual([]);
  });
});

describe("performance volumes for ocbox up", () => {
  it("the project sandbox mounts its volumes, owned by the agent; they outlive ocbox down", async () => {
    const home = await tempHome();
    const p = await makeProject(home, "cacheup");
    let sandboxId = "";
    try {
      expect((await p.run(["init", "--yes", "--json"])).code).toBe(0);
      await appendFile(join(p.root, "ocbox.yaml"), "\nvolumes: [node_modules]\n");
      sandboxId = await p.sandboxId();
      const up = await p.run(["up", "--detach", "--approve-hook"]);
      expect(up.code, up.stderr).toBe(0);
      const [agentBox] = (await containersOf([sandboxId])).filter((c) => c.labels[LABEL.role] === "agent");
      const r = await engine.exec(agentBox!.id, [
        "sh",
        "-c",
        "echo up > /workspace/node_modules/from-up && stat -c %u:%g /workspace/node_modules",
      ]);
      expect(r.stdout.trim()).toBe(`${agent.uid}:${agent.gid}`);
      expect((await p.run(["down"])).code).toBe(0);
      expect(await containersOf([sandboxId])).toEqual([]);
      // The host's dir is only the mount point; the file is in the volume, which outlives down.
      expect(readdirSync(join(p.root, "node_modules"))).toEqual([]);
      const volume = cacheVolumeName(sandboxId, "node_modules");
      const mountpoint = docker("volume", "inspect", "-f", "{{.Mountpoint}}", volume);
      expect(readFileSync(join(mountpoint, "from-up"), "utf8")).toBe("up\n");
    } finally {
      await p.run(["down"]);
      for (const v of await engine.listVolumes([`${LABEL.kind}=cache`, `${LABEL.sandbox}=${sandboxId}`]))
        await engine.removeVolume(v.name);
      await removeHome(home);
    }
    expect(await engine.listVolumes([`${LABEL.kind}=cache`, `${LABEL.sandbox}=${sandboxId}`])).toEqual([]);
  });
});

describe("the Docker socket opt-in for tasks (C8)", () => {
  const probe =
    "if test -S /var/run/docker.sock; then curl -s --unix-socket /var/run/docker.sock http://localhost/version" +
    " > /workspace/version.json; else echo absent > /workspace/version.json; fi";

  async function runCli(yaml: string) {
    const ws = mkdtempSync(join(tmpdir(), "ocbox-sock-"));
    model = await startScriptedModel({ scenario: { turns: [bash(probe), { structured: contract }] } });
    writeFileSync(join(ws, "opencode.json"), JSON.stringify(scriptedOpencodeConfig(model.url)));
    writeFileSync(join(ws, "ocbox.yaml"), yaml);
    const done = await ocbox(["run", "-w", ws, "-p", "what engine?", "--json", "--approve-config"]);
    expect(done.code, done.stderr).toBe(0);
    return {
      done,
      result: JSON.parse(done.stdout) as { outcome: string; warnings?: string[] },
      version: readFileSync(join(ws, "version.json"), "utf8"),
    };
  }

  it("with unsafe.hostDockerSocket the agent talks to the host's engine, and the warning is printed and recorded", async () => {
    const { done, result, version } = await runCli("unsafe:\n  hostDockerSocket: true\n");
    const info = await engine.info();
    expect(JSON.parse(version)).toMatchObject({ ApiVersion: info.apiVersion, Version: info.version });
    expect(done.stderr).toMatch(/WARNING unsafe\.hostDockerSocket: .*controls the host's engine/);
    expect(result.warnings).toEqual([expect.stringMatching(/^WARNING unsafe\.hostDockerSocket/)]);
  });

  it("without it there is no socket and no warning", async () => {
    const { done, result, version } = await runCli("{}\n");
    expect(version.trim()).toBe("absent");
    expect(done.stderr).not.toMatch(/WARNING/);
    expect(result.warnings).toBeUndefined();
  });
});
