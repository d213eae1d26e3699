import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ExitCode, OcboxError } from "../../src/errors.js";
import { parseProjectConfig } from "../../src/config/parse.js";

const dir = join(import.meta.dirname, "..", "fixtures", "bad-config");
const fixtures = readdirSync(dir)
  .filter((f) => f.endsWith(".yaml"))
  .sort();

/** Each fixture's first line is `# expect: <regex>`, matched against the error message. */
function expectation(text: string): RegExp {
  const match = /^# expect: (.+)$/m.exec(text.split("\n")[0] ?? "");
  if (!match?.[1]) throw new Error("fixture lacks a '# expect:' first line");
  return new RegExp(match[1], "s");
}

function errorFor(text: string, file: string): OcboxError {
  try {
    parseProjectConfig(text, file);
  } catch (e) {
    if (e instanceof OcboxError) return e;
    throw e;
  }
  throw new Error(`${file} parsed without an error`);
}

describe("malformed ocbox.yaml files", () => {
  it("has twenty fixtures", () => {
    expect(fixtures).toHaveLength(20);
  });

  it.each(fixtures)("%s gives a one-screen CONFIG error with file, line and fix", (name) => {
    const text = readFileSync(join(dir, name), "utf8");
    const file = `/projects/app/${name}`;
    const error = errorFor(text, file);
    expect(error.code).toBe("CONFIG");
    expect(error.exitCode).toBe(ExitCode.usage);
    expect(error.message).toContain(file);
    expect(error.message).toMatch(new RegExp(`${name.replace(/\./g, "\\.")}:\\d+:\\d+: `));
    expect(error.message).toMatch(/^ {2}fix: \S/m);
    expect(error.fix).toBeTruthy();
    const screen = [error.message, `fix: ${error.fix ?? ""}`].join("\n").split("\n");
    expect(screen.length).toBeLessThanOrEqual(15);
    expect(error.message).toMatch(expectation(text));
  });

  it("never shows a secret it refuses", () => {
    const error = errorFor(readFileSync(join(dir, "13-api-key-literal.yaml"), "utf8"), "ocbox.yaml");
    expect(error.message).not.toContain("Zq8xY2mN4bV6");
    expect(error.message).toContain("apiKeyEnv: ****");
  });

  it("reports every problem in a file, the first few in full", () => {
    const text = [
      "egress:",
      "  allow: [' a', b c, '*.x.com', .com]",
      "  hostPorts: [0, 70000]",
      "limits: { memory: lots }",
    ].join("\n");
    const error = errorFor(text, "ocbox.yaml");
    const lines = error.message.split("\n");
    expect(lines[0]).toBe("ocbox.yaml has 7 problems:");
    expect(lines.filter((l) => l.startsWith("ocbox.yaml:"))).toHaveLength(3);
    expect(lines.at(-1)).toMatch(/and 4 more/);
    expect(lines.length).toBeLessThanOrEqual(14);
  });

  it("locates problems in flow-style YAML by column", () => {
    const error = errorFor("egress: { allow: [.github.com, 'bad host'] }\n", "ocbox.yaml");
    expect(error.message).toMatch(/^ocbox\.yaml:1:32: egress\.allow\[1\]: "bad host" contains a space/);
  });
});
