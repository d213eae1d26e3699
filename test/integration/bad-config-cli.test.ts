import { copyFileSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import { ocbox } from "../helpers/cli.js";

const dir = join(import.meta.dirname, "..", "fixtures", "bad-config");
const fixtures = readdirSync(dir).filter((f) => f.endsWith(".yaml"));

it("each of twenty malformed ocbox.yaml files gets a one-screen error naming the file and line, and exit code 2", async () => {
  expect(fixtures).toHaveLength(20);
  const results = await Promise.all(
    fixtures.map(async (fixture) => {
      const project = mkdtempSync(join(tmpdir(), "ocbox-badcfg-"));
      copyFileSync(join(dir, fixture), join(project, "ocbox.yaml"));
      return { fixture, r: await ocbox(["up", "--detach"], { cwd: project }) };
    }),
  );
  for (const { fixture, r } of results) {
    const lines = r.stderr.trimEnd().split("\n");
    expect(r.code, `${fixture}: ${r.stderr}`).toBe(2);
    expect(r.stderr, fixture).toMatch(/ocbox\.yaml:\d+/);
    expect(r.stderr, fixture).toMatch(/fix/);
    expect(r.stderr, fixture).not.toMatch(/\n\s+at .*\(/); // no stack trace
    expect(lines.length, `${fixture}:\n${r.stderr}`).toBeLessThanOrEqual(24);
  }
});
