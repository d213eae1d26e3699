/**
 * Issue 15, items 3 and 5, end to end with the built `ocbox`, the real engine and the scripted
 * model driving the agent's bash tool (test/fixtures/harbor-verifier):
 * - Harbor's separate verifier mode: a fresh container of the task's image with the agent's final
 *   WORKDIR (owners kept), and nothing else the agent left (a file in /tmp, a background process);
 *   the verifier's own network policy reaches its allowlisted host through its own relay, where
 *   the agent's no-network phase reached nothing; `[agent].user` given by name.
 * - a root task on this machine runs under gVisor (runsc is registered here) and its package
 *   install (dpkg -i of a local .deb) works; its verifier sees /tests (uploaded from inside).
 * - a shared-mode verifier whose policy is the agent's reaches its allowlisted host (the relays
 *   the agent's stop ended are started again).
 */
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { scriptedOpencodeConfig } from "../../src/scripted-model/opencode-config.js";
import type { ScenarioInput } from "../../src/scripted-model/scenario.js";
import { startScriptedModel, type ScriptedModel } from "../../src/scripted-model/server.js";
import type { UnitRecord } from "../../src/eval/unit-record.js";
import { DockerEngine } from "../../src/runtime/docker-engine.js";
import { runtimeProblem } from "../../src/runtime/runtime-check.js";
import { ocbox, evalRunArgs } from "../helpers/cli.js";

const FIXTURES = resolve(import.meta.dirname, "../fixtures/harbor-verifier");
const root = mkdtempSync(join(tmpdir(), "ocbox-harbor-verifier-"));
const tasks = join(root, "tasks");
const env = { XDG_STATE_HOME: mkdtempSync(join(tmpdir(), "ocbox-state-")) };
let model: ScriptedModel;
let config: string;

const bash = (command: string) => ({ name: "bash", arguments: { command, description: "run it" } });
const done = (match: string) => ({ match, structured: { outcome: "COMPLETE", summary: "done" } });
const PROXY_GET =
  "exec 3<>/dev/tcp/127.0.0.1/3128 && printf 'GET http://deb.debian.org/debian/ HTTP/1.0\\r\\n\\r\\n' >&3 && head -1 <&3";
const turns: ScenarioInput["turns"] = [
  {
    match: "SEPARATE-VERIFIER",
    toolCalls: [
      bash(
        [
          "echo made by the agent > result.txt",
          "cat /proc/sys/kernel/hostname > agent-host.txt",
          "id -u > /logs/agent/uid.txt",
          "echo left > /tmp/marker",
          "(setsid sleep 4242 > /dev/null 2>&1 &)",
          `{ ${PROXY_GET}; } > /logs/agent/net.txt 2>&1 || echo no-proxy >> /logs/agent/net.txt`,
        ].join("; "),
      ),
    ],
  },
  done("SEPARATE-VERIFIER"),
  {
    match: "ROOT-APT",
    toolCalls: [
      bash(
        "cat /proc/version > /logs/agent/version.txt; " +
          "dpkg -i /opt/pkgs/hello-local.deb > /logs/agent/dpkg.txt 2>&1; hello-local > out.txt",
      ),
    ],
  },
  done("ROOT-APT"),
  done("SHARED-NET"),
];

const unitDir = (out: string, id: string) => join(out, "tasks", id, "r1");
const unitOf = (out: string, id: string) =>
  JSON.parse(readFileSync(join(unitDir(out, id), "unit.json"), "utf8")) as UnitRecord;

beforeAll(async () => {
  // gVisor must be registered as ocbox needs it for the root-task half (no silent skip).
  const { runtimes } = await new DockerEngine().capabilities();
  const problem = runtimeProblem("runsc", runtimes);
  if (problem) throw new Error(`this test needs runsc registered: ${problem.message}; ${problem.fix ?? ""}`);
  cpSync(FIXTURES, tasks, { recursive: true });
  model = await startScriptedModel({ scenario: { turns } });
  config = join(root, "scripted.json");
  writeFileSync(config, JSON.stringify(scriptedOpencodeConfig(model.url)));
});

afterAll(async () => {
  await model?.close();
});

it("separate verifier mode: the agent's WORKDIR, nothing else it left; a named user; root under gVisor", async () => {
  const out = join(root, "out");
  const r = await ocbox([...evalRunArgs({ tasks, output: out, config }), "--approve-config", "--json"], {
    env,
  });
  expect(r.code, r.stderr).toBe(0);

  // The agent ran as the image's `builder` (uid 1234), and its no-network phase reached nothing.
  const sep = unitDir(out, "separate");
  expect(readFileSync(join(sep, "logs", "agent", "uid.txt"), "utf8")).toBe("1234\n");
  expect(readFileSync(join(sep, "logs", "agent", "net.txt"), "utf8")).not.toMatch(/ 200 | 30[12] /);
  const separate = unitOf(out, "separate");
  expect(separate.verifier, separate.verifier?.outputTail).toMatchObject({
    mode: "separate",
    reward: 1,
    rewards: { workdir: 1, owner: 1, no_marker: 1, no_process: 1, fresh_container: 1, net: 1 },
  });
  const manifest = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8")) as {
    tasks: Record<string, { verifierMode?: string }>;
    taskWarnings?: Record<string, string[]>;
  };
  expect(manifest.tasks.separate?.verifierMode).toBe("separate");
  expect(manifest.tasks["root-apt"]?.verifierMode).toBe("shared");

  // The root task ran under gVisor (its kernel says so from inside) and dpkg installed the package.
  const rootDir = unitDir(out, "root-apt");
  // gVisor's own kernel version (runc would show the host's), and no kernel log for the agent.
  const kernel = readFileSync(join(rootDir, "logs", "agent", "version.txt"), "utf8");
  expect(kernel).not.toBe(readFileSync("/proc/version", "utf8"));
  expect(kernel).toMatch(/^Linux version 4\.4\.0 #1 SMP Sun Jan 10 15:06:54 PST 2016/);
  expect(readFileSync(join(rootDir, "workspace", "out.txt"), "utf8")).toBe("hello local\n");
  const rootApt = unitOf(out, "root-apt");
  expect(rootApt.verifier, readFileSync(join(rootDir, "logs", "agent", "dpkg.txt"), "utf8")).toMatchObject({
    mode: "shared",
    reward: 1,
  });
  expect(manifest.taskWarnings?.["root-apt"]?.join("\n")).toMatch(
    /task\.root: the task runs as root \(uid 0\) under gVisor \(runsc\)/,
  );
  expect(manifest.taskWarnings?.separate).toBeUndefined();

  // Shared mode: the verifier gets the proxy relay back (the agent's stop ended it), on its policy.
  const sharedNet = unitOf(out, "shared-net");
  expect(sharedNet.verifier, sharedNet.verifier?.outputTail).toMatchObject({ mode: "shared", reward: 1 });
});

it("an [agent].user the image does not have is an invalid task, with the file, line and fix", async () => {
  const set = join(root, "bad-user");
  cpSync(join(FIXTURES, "separate"), join(set, "ghost"), { recursive: true });
  const toml = join(set, "ghost", "task.toml");
  writeFileSync(toml, readFileSync(toml, "utf8").replace('user = "builder"', 'user = "ghost"'));
  const out = join(root, "bad-user-out");
  const r = await ocbox([...evalRunArgs({ tasks: set, output: out, config }), "--approve-config", "--json"], {
    env,
  });
  const manifest = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8")) as {
    invalid: Array<{ id: string; path: string; field: string; problem: string }>;
  };
  expect(manifest.invalid, r.stderr).toHaveLength(1);
  expect(manifest.invalid[0]).toMatchObject({ id: "ghost", path: `${toml}:9`, field: "agent.user" });
  expect(manifest.invalid[0]?.problem).toMatch(
    /"ghost" is not in the image's \/etc\/passwd \(it has root, builder, /,
  );
});
