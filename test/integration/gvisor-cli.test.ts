/**
 * The gVisor tier through the built `ocbox` (issue 13, SECURITY.md "The gVisor tier"): a project
 * whose ocbox.yaml says `hardening.runtime: runsc` gets its agent container under gVisor from
 * `ocbox up` (the summary and `--json` say so, nothing warns: it only narrows) and from `ocbox run`
 * (the result's `security.runtime`); a name the engine has not registered stops the start with the
 * daemon.json entry to add. Needs runsc registered in dockerd (`.ci/gvisor-runtime` does it).
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Docker from "dockerode";
import { afterAll, beforeAll, expect, it } from "vitest";
import { scriptedOpencodeConfig } from "../../src/scripted-model/opencode-config.js";
import { startScriptedModel, type ScriptedModel } from "../../src/scripted-model/server.js";
import { LABEL } from "../../src/runtime/labels.js";
import { ocbox } from "../helpers/cli.js";
import {
  containersOf,
  engine,
  makeProject,
  removeHome,
  tempHome,
  type TestProject,
} from "../helpers/project.js";
import { TEST_RUNTIME } from "../helpers/runtime.js";

const runtime = TEST_RUNTIME ?? "runsc";
const yaml = `hardening:\n  runtime: ${runtime}\n`;
let home: string;
let model: ScriptedModel;
const ids: string[] = [];
const projects: TestProject[] = [];

beforeAll(async () => {
  const runtimes = (await engine.capabilities()).runtimes ?? {};
  if (!(runtime in runtimes))
    throw new Error(
      `the engine has no runtime named ${runtime}: run .ci/gvisor-runtime (installs Debian's runsc and registers it in /etc/docker/daemon.json)`,
    );
  home = await tempHome();
  model = await startScriptedModel({ scenario: { turns: [] } });
});

afterAll(async () => {
  for (const p of projects) await p.run(["down"]);
  if (ids.length) expect(await containersOf(ids)).toEqual([]);
  await model?.close();
  if (home) await removeHome(home);
});

it("ocbox up runs the agent under gVisor and says so; it is no weakening", async () => {
  const p = await makeProject(home, "gvisor-up");
  projects.push(p);
  expect((await p.run(["init", "--yes", "--json"])).code).toBe(0);
  await writeFile(join(p.root, "ocbox.yaml"), yaml);
  ids.push(await p.sandboxId());
  const r = await p.run(["up", "--detach", "--approve-hook", "--json"]);
  expect(r.code, r.stderr).toBe(0);
  const summary = JSON.parse(r.stdout) as { security: { runtime: string; unsafe: string[] } };
  expect(summary.security).toMatchObject({ runtime, unsafe: [] });
  expect(r.stderr).not.toMatch(/WARNING/);
  const [agent] = (await containersOf(ids)).filter((c) => c.labels[LABEL.role] === "agent");
  if (!agent) throw new Error("no agent container for the project");
  const inspect = (await new Docker().getContainer(agent.id).inspect()) as {
    HostConfig: { Runtime: string };
  };
  expect(inspect.HostConfig.Runtime).toBe(runtime);
  // gVisor's own kernel answers inside (its uname), not the host's.
  const uname = await p.run(["exec", "--", "uname", "-r"]);
  expect(uname.stdout.trim()).toBe("4.4.0");
  const human = await p.run(["status"]);
  expect(human.code, human.stderr).toBe(0);
});

it("ocbox run under gVisor: the typed result names the runtime; an unregistered one is refused with the fix", async () => {
  model.setScenario({ turns: [{ structured: { outcome: "COMPLETE", summary: "ok" } }] });
  const ws = mkdtempSync(join(tmpdir(), "ocbox-gvisor-run-"));
  writeFileSync(join(ws, "opencode.json"), JSON.stringify(scriptedOpencodeConfig(model.url)));
  writeFileSync(join(ws, "ocbox.yaml"), yaml);
  const env = { XDG_STATE_HOME: join(home, "state"), XDG_DATA_HOME: join(home, "data") };
  const done = await ocbox(["run", "-w", ws, "-p", "do it", "--json", "--approve-config"], { env });
  expect(done.code, done.stderr).toBe(0);
  expect(JSON.parse(done.stdout)).toMatchObject({ outcome: "COMPLETE", security: { runtime } });

  writeFileSync(join(ws, "ocbox.yaml"), "hardening:\n  runtime: ocbox-no-such-runtime\n");
  const refused = await ocbox(["run", "-w", ws, "-p", "do it", "--approve-config"], { env });
  // Refused before any container, as the typed result of a task that could not start.
  expect(refused.code).toBe(17);
  expect(refused.stdout).toMatch(/ERROR \(INFRASTRUCTURE\) in 0\.\d s, 0 attempt/);
  expect(refused.stdout).toMatch(
    /hardening\.runtime: ocbox-no-such-runtime: the engine has no runtime named/,
  );
  expect(refused.stdout).toContain('"runtimeArgs": ["--network=none", "--host-uds=all", "--oci-seccomp"]');
});
