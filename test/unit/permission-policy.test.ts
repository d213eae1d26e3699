import { describe, expect, it } from "vitest";
import { askingLine, replyFor } from "../../src/executor/permission-policy.js";
import { permissionHint } from "../../src/executor/hints.js";

describe("the unattended permission policy", () => {
  it("reject by default, once for autonomous", () => {
    expect(replyFor("reject")).toBe("reject");
    expect(replyFor("autonomous")).toBe("once");
  });

  it("names the permission's own line, in JSON with comments too", () => {
    const text =
      '{\n  // ask before shell\n  "permission": {\n    "edit": "allow",\n    "bash": "ask",\n  },\n}\n';
    expect(askingLine("bash", [{ file: "opencode.jsonc", text }])).toEqual({
      file: "opencode.jsonc",
      line: 5,
      text: '"bash": "ask",',
    });
  });

  it('falls back to the "*" rule, then to the permission key itself', () => {
    const star = '{"permission": {\n  "*": "ask"\n}}';
    expect(askingLine("webfetch", [{ file: "opencode.json", text: star }])?.line).toBe(2);
    const whole = '{\n  "model": "x/y",\n  "permission": "ask"\n}';
    expect(askingLine("bash", [{ file: "opencode.json", text: whole }])).toMatchObject({ line: 3 });
    // A "bash" key outside the permission object is not the rule.
    const elsewhere = '{\n  "permission": {\n    "edit": "ask"\n  },\n  "bash": "ask"\n}';
    expect(askingLine("bash", [{ file: "opencode.json", text: elsewhere }])).toMatchObject({ line: 2 });
  });

  it("is null when no file has a permission key (OpenCode's defaults asked)", () => {
    expect(askingLine("bash", [])).toBeNull();
    expect(askingLine("bash", [{ file: "opencode.json", text: '{"model": "a/b"}' }])).toBeNull();
  });

  it("the hint names the ask, the line and the way out", () => {
    const hint = permissionHint(
      [
        {
          permission: "bash",
          patterns: ["make"],
          answer: "reject",
          configLine: { file: "opencode.json", line: 4, text: '"bash": "ask"' },
        },
      ],
      "reject",
    );
    expect(hint).toContain("bash make");
    expect(hint).toContain("opencode.json:4");
    expect(hint).toContain("--permissions autonomous");
  });
});
