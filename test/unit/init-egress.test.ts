import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseProjectConfig } from "../../src/config/parse.js";
import { initProject } from "../../src/project/init.js";
import { allowInTemplate } from "../../src/project/init-egress.js";
import { ocboxYamlTemplate } from "../../src/project/init-templates.js";

let home: string;
const envFor = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  XDG_STATE_HOME: join(home, "state"),
  XDG_DATA_HOME: join(home, "data"),
  XDG_CACHE_HOME: join(home, "cache"),
  ...extra,
});

async function folder(name: string): Promise<string> {
  const dir = join(home, name);
  await mkdir(dir, { recursive: true });
  return dir;
}

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), "ocbox-init-egress-"));
});
afterAll(async () => {
  await rm(home, { recursive: true, force: true });
});

describe("ocbox init and the model hosts egress would deny (issue 18 item 4)", () => {
  it("the template's allow: [] gets the hosts, and stays valid", () => {
    const yaml = allowInTemplate(ocboxYamlTemplate("p"), ["api.anthropic.com"]);
    expect(yaml).toContain("  allow:\n    - api.anthropic.com\n");
    expect(parseProjectConfig(yaml, "ocbox.yaml").egress.allow).toEqual(["api.anthropic.com"]);
  });

  it("--yes never widens egress: it prints the line (and the gateway) instead", async () => {
    const root = await folder("yes");
    const r = await initProject({ cwd: root, env: envFor({ ANTHROPIC_API_KEY: "k" }) });
    expect(r.egress.steps.map((s) => [s.gap.host, s.status])).toEqual([["api.anthropic.com", "printed"]]);
    expect(r.egress.notes[0]).toContain(
      "provider anthropic (ANTHROPIC_API_KEY is passed in) calls api.anthropic.com, which egress denies: " +
        "add `- api.anthropic.com` under egress.allow in",
    );
    expect(r.egress.notes[0]).toContain(
      "egress.gateways: - { upstream: https://api.anthropic.com, port: 9101, keyEnv: ANTHROPIC_API_KEY }",
    );
    expect(await readFile(join(root, "ocbox.yaml"), "utf8")).toContain("  allow: []\n");
  }, 60_000);

  it("asked at a terminal: yes adds the host (auth.json's provider too), no leaves it out", async () => {
    await mkdir(join(home, "data", "opencode"), { recursive: true });
    await writeFile(
      join(home, "data", "opencode", "auth.json"),
      JSON.stringify({ openai: { type: "api", key: "k" } }),
    );
    const root = await folder("asked");
    const questions: string[] = [];
    const r = await initProject({
      cwd: root,
      env: envFor({ ANTHROPIC_API_KEY: "k" }),
      askEgress: (q) => {
        questions.push(q);
        return Promise.resolve(q.includes("api.anthropic.com"));
      },
    });
    expect(questions).toHaveLength(2);
    expect(r.egress.steps.map((s) => [s.gap.host, s.status])).toEqual([
      ["api.anthropic.com", "added"],
      ["api.openai.com", "declined"],
    ]);
    const yaml = await readFile(join(root, "ocbox.yaml"), "utf8");
    expect(parseProjectConfig(yaml, "ocbox.yaml").egress.allow).toEqual(["api.anthropic.com"]);
    expect(r.egress.notes).toHaveLength(1);
    expect(r.egress.notes[0]).toContain("api.openai.com");
    await rm(join(home, "data", "opencode"), { recursive: true, force: true });
  }, 60_000);

  it("an ocbox.yaml that was already there is never edited", async () => {
    const root = await folder("existing");
    await writeFile(join(root, "ocbox.yaml"), "name: existing\n");
    const r = await initProject({
      cwd: root,
      env: envFor({ ANTHROPIC_API_KEY: "k" }),
      askEgress: () => Promise.resolve(true),
    });
    expect(r.egress.steps.map((s) => s.status)).toEqual(["printed"]);
    expect(await readFile(join(root, "ocbox.yaml"), "utf8")).toBe("name: existing\n");
  }, 60_000);
});
