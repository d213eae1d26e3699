/**
 * Copy mode (issue 14 items 1 and 2) on the shared engine: the engine probe, and `ocbox run` with
 * the workspace copied in through the engine API and synced back three ways. The scripted model
 * drives the agent's bash tool; the tests look at what landed on the host: the agent's edits back
 * and the user's, a host edit made while the task ran kept with the agent's version beside it, and
 * a hostile agent's links, setuid file, FIFO and 10 TiB file kept out.
 *
 * OCBOX_EXPECT_NOSHARE=1 (the no-shared-files leg, .ci/leg-noshare): ocbox runs in a container and
 * OCBOX_PRIVATE_DIR is a dir of that container only, so the probe must say "not visible" and
 * `workspace.mode: auto` must pick copy.
 */
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { runTask, type RunTaskOptions } from "../../src/executor/prepare.js";
import { ensureImages, type ImageSet } from "../../src/image/build.js";
import { DockerEngine } from "../../src/runtime/docker-engine.js";
import { LABEL } from "../../src/runtime/labels.js";
import { engineSeesPath } from "../../src/sandbox/path-probe.js";
import { scriptedOpencodeConfig } from "../../src/scripted-model/opencode-config.js";
import type { ScenarioInput } from "../../src/scripted-model/scenario.js";
import { startScriptedModel, type ScriptedModel } from "../../src/scripted-model/server.js";

const engine = new DockerEngine();
const noshare = process.env.OCBOX_EXPECT_NOSHARE === "1";
const privateDir = process.env.OCBOX_PRIVATE_DIR ?? tmpdir();
const root = mkdtempSync(join(privateDir, "ocbox-copymode-it-"));
process.env.XDG_STATE_HOME = join(root, "state");
let images: ImageSet;
let model: ScriptedModel | undefined;

beforeAll(async () => {
  if (noshare && !process.env.OCBOX_PRIVATE_DIR)
    throw new Error(
      "OCBOX_EXPECT_NOSHARE=1 needs OCBOX_PRIVATE_DIR: a dir the engine cannot see (see .ci/leg-noshare)",
    );
  images = await ensureImages(engine);
});

afterEach(async () => {
  await model?.close();
  model = undefined;
  expect(await engine.listContainers([`${LABEL.ownerPid}=${process.pid}`], true)).toEqual([]);
});

afterAll(async () => {
  expect(await engine.listVolumes([`${LABEL.ownerPid}=${process.pid}`])).toEqual([]);
  rmSync(root, { recursive: true, force: true });
});

type Turns = NonNullable<ScenarioInput["turns"]>;
const bash = (command: string): Turns => [
  { toolCalls: [{ name: "bash", arguments: { command, description: "work" } }] },
  { structured: { outcome: "COMPLETE", summary: "done" } },
];

function workspace(files: Record<string, string>): string {
  const ws = mkdtempSync(join(root, "ws-"));
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(join(ws, name, ".."), { recursive: true });
    writeFileSync(join(ws, name), content);
  }
  return ws;
}

async function task(ws: string, command: string, extra: Partial<RunTaskOptions> = {}) {
  model = await startScriptedModel({ scenario: { turns: bash(command) } });
  const events: string[] = [];
  const result = await runTask({
    workspace: ws,
    prompt: "Do the task.",
    model: "scripted/scripted",
    opencodeConfig: scriptedOpencodeConfig(model.url),
    engine,
    images,
    onEvent: (e) => events.push(e.message),
    ...extra,
  });
  return { result, events };
}

const mode = (p: string) => lstatSync(p).mode & 0o7777;

describe("the engine probe", () => {
  it(`says whether the engine sees a dir (${noshare ? "not" : "it does"}), then answers from its cache`, async () => {
    const first = await engineSeesPath(engine, root, images.sandbox.tag);
    expect(first).toMatchObject({ visible: !noshare, cached: false });
    expect(await engineSeesPath(engine, root, images.sandbox.tag)).toMatchObject({
      visible: !noshare,
      cached: true,
    });
    // The marker is gone again.
    expect(readdirSync(root).filter((n) => n.startsWith(".ocbox-probe-"))).toEqual([]);
  });
});

describe("ocbox run in copy mode", () => {
  it("the agent's work is back on the host and the user's; a host edit made meanwhile is kept, the agent's version beside it", async () => {
    const ws = workspace({
      "edit.txt": "old\n",
      "gone.txt": "bye\n",
      "both.txt": "base\n",
      "hostkeep.txt": "base\n",
      "tool.sh": "#!/bin/sh\n",
      "node_modules/dep/index.js": "host's dep\n",
    });
    const { result, events } = await task(
      ws,
      "cd /workspace && test ! -e node_modules && echo agent > edit.txt && mkdir -p new && echo fresh > new/b.txt && " +
        "rm gone.txt hostkeep.txt && echo agent-version > both.txt && chmod +x tool.sh && ln -s /etc/passwd passwd-link && " +
        "mkdir -p node_modules/x && echo agent > node_modules/x/a.js",
      {
        copy: true,
        // While the agent works, the user edits two files on the host.
        onSession: () => {
          writeFileSync(join(ws, "both.txt"), "host-version\n");
          writeFileSync(join(ws, "hostkeep.txt"), "host edit\n");
        },
      },
    );
    expect(result, JSON.stringify(result, null, 2)).toMatchObject({ outcome: "COMPLETE" });
    expect(events).toContain("workspace: copy (--copy)");
    expect(readFileSync(join(ws, "edit.txt"), "utf8")).toBe("agent\n");
    expect(lstatSync(join(ws, "edit.txt")).uid).toBe(process.getuid?.());
    expect(readFileSync(join(ws, "new", "b.txt"), "utf8")).toBe("fresh\n");
    expect(lstatSync(join(ws, "new", "b.txt")).uid).toBe(process.getuid?.());
    expect(existsSync(join(ws, "gone.txt"))).toBe(false);
    expect(mode(join(ws, "tool.sh"))).toBe(0o755);
    expect(readlinkSync(join(ws, "passwd-link"))).toBe("/etc/passwd");
    // Conflicts: both edited (the host's stays, the agent's beside it); an edit wins over a delete.
    expect(readFileSync(join(ws, "both.txt"), "utf8")).toBe("host-version\n");
    const beside = readdirSync(ws).filter((n) => n.startsWith("both.txt.ocbox-conflict-"));
    expect(beside).toHaveLength(1);
    expect(readFileSync(join(ws, beside[0] as string), "utf8")).toBe("agent-version\n");
    expect(readFileSync(join(ws, "hostkeep.txt"), "utf8")).toBe("host edit\n");
    expect(result.warnings?.join("\n")).toMatch(/conflict: both\.txt edited on the host and by the agent/);
    expect(result.warnings?.join("\n")).toMatch(
      /conflict: hostkeep\.txt edited on the host, deleted by the agent/,
    );
    // The default exclude: node_modules neither went in nor came back.
    expect(readdirSync(join(ws, "node_modules"))).toEqual(["dep"]);
  });

  it("a hostile agent: links come back as links, never followed; no setuid; a FIFO and a 10 TiB file stay out", async () => {
    const outside = mkdtempSync(join(root, "outside-"));
    writeFileSync(join(outside, "secret"), "host secret\n");
    const ws = workspace({ "README.md": "hi\n" });
    symlinkSync(outside, join(ws, "hostlink"));
    const { result } = await task(
      ws,
      "cd /workspace && printf '#!/bin/sh\\nid\\n' > suid && chmod 6755 suid && truncate -s 10T big && " +
        "rm hostlink && mkdir hostlink && echo pwned > hostlink/x && mkfifo fifo && ln -s /etc/shadow shadow && " +
        "mkdir -p d && ln -s / d/root && chmod 0777 README.md",
      { copy: true },
    );
    expect(result).toMatchObject({ outcome: "ERROR", failureReason: "OUTPUT_TOO_LARGE" });
    expect(result.leftOut).toEqual(
      expect.arrayContaining([
        { path: "big", reason: "over-file-cap", size: 10 * 1024 ** 4 },
        { path: "fifo", reason: "fifo" },
      ]),
    );
    // Nothing reached the dir the host's link pointed to; the agent's dir replaced the link inside.
    expect(readdirSync(outside)).toEqual(["secret"]);
    expect(readFileSync(join(outside, "secret"), "utf8")).toBe("host secret\n");
    expect(lstatSync(join(ws, "hostlink")).isDirectory()).toBe(true);
    expect(readFileSync(join(ws, "hostlink", "x"), "utf8")).toBe("pwned\n");
    expect(mode(join(ws, "suid"))).toBe(0o755);
    expect(mode(join(ws, "README.md"))).toBe(0o755);
    expect(existsSync(join(ws, "big"))).toBe(false);
    expect(existsSync(join(ws, "fifo"))).toBe(false);
    expect(readlinkSync(join(ws, "shadow"))).toBe("/etc/shadow");
    expect(readlinkSync(join(ws, "d", "root"))).toBe("/");
    unlinkSync(join(ws, "d", "root"));
  });

  it(`workspace.mode auto picks ${noshare ? "copy (the engine cannot see the workspace)" : "the bind mount"}`, async () => {
    const ws = workspace({ "a.txt": "old\n" });
    const { result, events } = await task(ws, "cd /workspace && echo new > a.txt");
    expect(result).toMatchObject({ outcome: "COMPLETE" });
    expect(events.find((e) => e.startsWith("workspace: "))).toMatch(
      noshare ? /^workspace: copy \(the engine at .* cannot see/ : /^workspace: bind mount \(the engine sees/,
    );
    expect(readFileSync(join(ws, "a.txt"), "utf8")).toBe("new\n");
  });
});
