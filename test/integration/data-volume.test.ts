/**
 * A project's data volume (A3) gets the agent's dirs once per volume and agent user, not on every
 * start (issue 16: one archive call less on the way to ready). What decides is host-owned: the
 * engine's creation time of the volume and a record in ocbox's state dir. An agent that removes
 * what it can of the volume harms only its own sessions: the next start still links ~/.local and
 * the server starts; a volume made again under the same name, or another agent user, gets the
 * dirs again.
 */
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it, vi } from "vitest";
import { ensureImages } from "../../src/image/build.js";
import { AGENT_UID, DATA_DIR } from "../../src/image/dockerfile.js";
import { DockerEngine } from "../../src/runtime/docker-engine.js";
import { dataVolumeLabels } from "../../src/sandbox/data-volume-name.js";
import { DEFAULT_LIMITS, agentUserFor, currentHostUser, type SandboxSpec } from "../../src/sandbox/spec.js";
import { newRunId, startSandbox } from "../../src/sandbox/start.js";

const root = mkdtempSync(join(tmpdir(), "ocbox-dv-"));
process.env.XDG_STATE_HOME = join(root, "state");
const engine = new DockerEngine();
const dataVolume = `ocbox-it-dv-${newRunId()}-data`;

afterAll(async () => {
  await engine.removeVolume(dataVolume);
});

it("the data volume's dirs go in once per volume and agent user; an agent that empties it harms only itself", async () => {
  const images = await ensureImages(engine);
  const ws = mkdtempSync(join(root, "ws-"));
  const record = join(root, "data-volume");
  const host = currentHostUser();
  const agentUser = agentUserFor(host, AGENT_UID);
  const spec = (): SandboxSpec => ({
    sandboxId: "it-dv",
    runId: newRunId(),
    workspace: ws,
    images: { sandbox: images.sandbox.tag, egress: images.egress.tag },
    agentUser,
    hostUser: host,
    forwardPorts: [],
    hostPort: 0,
    env: {},
    opencodeConfig: { share: "disabled" },
    dataVolume,
    dataVolumeLabels: dataVolumeLabels("it-dv"),
    dataVolumeRecord: record,
    egress: { allow: [], decisionLog: join(root, "egress.jsonl") },
    limits: DEFAULT_LIMITS,
    server: { logLevel: "INFO", printLogs: false },
    lifetime: "session",
    readyTimeoutMs: 90_000,
  });
  const puts = vi.spyOn(engine, "putArchive");
  /** One start: how many archives went into the data volume, and what a script as the agent saw. */
  const start = async (script: string) => {
    puts.mockClear();
    const sandbox = await startSandbox(engine, spec());
    try {
      const dataPuts = puts.mock.calls.filter(([, dir]) => dir === DATA_DIR).length;
      const r = await engine.exec(sandbox.agentId, ["bash", "-c", script]);
      return { dataPuts, ...r };
    } finally {
      await sandbox.stop();
    }
  };
  const linked = `readlink ~/.local; echo kept > ~/.local/share/opencode/mark-$RANDOM && echo writable`;

  // A new volume: the dirs go in, and the host's record names it, its creation time and the user.
  const first = await start(`${linked}; echo session > ~/.local/share/opencode/session.json`);
  expect(first.dataPuts).toBe(1);
  expect(first.stdout).toContain(`${DATA_DIR}/local`);
  expect(first.stdout).toContain("writable");
  const createdAt = await engine.volumeCreatedAt(dataVolume);
  expect(createdAt).toBeTruthy();
  expect(readFileSync(record, "utf8")).toBe(`${dataVolume} ${createdAt} ${agentUser.uid}:${agentUser.gid}\n`);
  expect(statSync(record).mode & 0o777).toBe(0o600);

  // The same volume and user: nothing goes in; the earlier session is there. Then the agent
  // removes everything of the volume it can (all of it where the volume's root is the agent's).
  const second = await start(
    `cat ~/.local/share/opencode/session.json; ${linked}; rm -rf ${DATA_DIR}/local ${DATA_DIR}/* 2>/dev/null; true`,
  );
  expect(second.dataPuts).toBe(0);
  expect(second.stdout).toContain("session");
  expect(second.stdout).toContain("writable");

  // Still nothing put; the server started, and ~/.local is linked into the volume and writable
  // again (the entrypoint makes local/ where the agent removed it).
  const third = await start(linked);
  expect(third.dataPuts).toBe(0);
  expect(third.stdout).toContain(`${DATA_DIR}/local`);
  expect(third.stdout).toContain("writable");

  // A record of another agent user: the dirs go in again, for this one.
  writeFileSync(record, `${dataVolume} ${createdAt} ${agentUser.uid + 1}:${agentUser.gid}\n`);
  expect((await start(linked)).dataPuts).toBe(1);

  // The volume made again under the same name (not by ocbox), the record left as it was: its
  // creation time differs, so the dirs go in.
  await engine.removeVolume(dataVolume);
  await new Promise((r) => setTimeout(r, 1100));
  await engine.createVolume(dataVolume, dataVolumeLabels("it-dv"), {});
  // A second later: Docker's CreatedAt is the volume root's mtime, which the dirs put in then move
  // (the record must take the time after the put, or every start after would put them again).
  await new Promise((r) => setTimeout(r, 1100));
  const remade = await start(linked);
  expect(remade.dataPuts).toBe(1);
  expect(remade.stdout).toContain("writable");
  expect(readFileSync(record, "utf8")).toContain(
    `${dataVolume} ${await engine.volumeCreatedAt(dataVolume)} `,
  );
  expect((await start(linked)).dataPuts).toBe(0);
}, 300_000);
