/**
 * A model API host the egress proxy would deny is said out loud (issue 18 item 4): a provider
 * whose baseURL is off the allowlist gets a WARNING with the exact egress.allow line, from
 * `ocbox run` and in `ocbox up`'s summary; once the line is added, the warning is gone. The real
 * engine, image, OpenCode and the scripted model (the task's own model, on loopback: no warning).
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { scriptedOpencodeConfig } from "../../src/scripted-model/opencode-config.js";
import { startScriptedModel, type ScriptedModel } from "../../src/scripted-model/server.js";
import { makeProject, removeHome, tempHome } from "../helpers/project.js";

const HOST = "llm.corp.example";
const LINE = `add \`- ${HOST}\` under egress.allow in`;
let model: ScriptedModel;
let home: string;

/** The scripted model as the default, and a second provider whose endpoint is off the allowlist. */
function opencodeConfig(): Record<string, unknown> {
  const config = scriptedOpencodeConfig(model.url);
  const providers = config.provider as Record<string, unknown>;
  providers.corp = {
    npm: "@ai-sdk/openai-compatible",
    name: "Corp LLM",
    options: { baseURL: `https://${HOST}/v1`, apiKey: "{env:CORP_KEY}" },
    models: { big: { name: "big" } },
  };
  return config;
}

beforeAll(async () => {
  model = await startScriptedModel({
    scenario: { turns: [{ structured: { outcome: "COMPLETE", summary: "ok" } }] },
  });
  home = await tempHome();
});

afterAll(async () => {
  await model?.close();
  await removeHome(home);
});

it("ocbox run warns about a provider whose baseURL the proxy denies, with the line to add", async () => {
  const project = await makeProject(home, "gaps-run");
  await writeFile(join(project.root, "opencode.json"), JSON.stringify(opencodeConfig()));
  // A cold catalogue cache: the pinned binary is read once here.
  const env = { XDG_CACHE_HOME: join(home, "cache") };
  const r = await project.run(["run", "-w", project.root, "-p", "do it", "--json", "--approve-config"], env);
  expect(r.code, r.stderr).toBe(0);
  expect(r.stderr).toContain(
    `WARNING egress: provider corp (named in the OpenCode config) calls ${HOST}, which the proxy denies: ${LINE} ocbox.yaml`,
  );
  // The task's model is on loopback (a forwarded host port): nothing to warn about.
  expect(r.stderr).not.toMatch(/provider scripted .*proxy denies/);
}, 300_000);

it("ocbox up's summary warns until the host is allowed", async () => {
  const project = await makeProject(home, "gaps-up");
  expect((await project.run(["init", "--yes"])).code).toBe(0);
  await writeFile(join(project.root, "opencode.jsonc"), JSON.stringify(opencodeConfig()));
  const yaml = join(project.root, "ocbox.yaml");
  try {
    const up = await project.run(["up", "--detach", "--approve-hook", "--approve-config"]);
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout).toContain(
      `  WARNING egress: provider corp (named in the OpenCode config) calls ${HOST}`,
    );
    expect(up.stdout).toContain(`${LINE} ${yaml}`);
    expect((await project.run(["down"])).code).toBe(0);

    await writeFile(yaml, (await readFile(yaml, "utf8")).replace("allow: []", `allow: [${HOST}]`));
    const again = await project.run(["up", "--detach", "--approve-hook", "--approve-config"]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).not.toContain("WARNING egress");
    expect(again.stdout).toContain("egress    1 allowlist entry");
    expect((await project.run(["down"])).code).toBe(0);
  } finally {
    // A detached sandbox is the user's until `down` (the reaper keeps it): a failed check must not leave one.
    await project.run(["down"]);
  }
}, 300_000);
