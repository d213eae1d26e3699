/**
 * What comes back from a sandbox or its server, made harmless before the host uses it: terminal
 * text, ocbox's own git, server answers (zod), the report's fields and the session record's
 * bounds. Pure, no Docker.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { OcboxError } from "../../src/errors.js";
import { writeReport } from "../../src/eval/report-file.js";
import { checkUnitFiles } from "../../src/eval/result-check.js";
import { checkedMessages, toolTimeline } from "../../src/eval/session-export.js";
import { SessionRecord } from "../../src/eval/session-record.js";
import {
  assistantInfoSchema,
  checkAnswer,
  promptAnswerSchema,
  retryStatusSchema,
} from "../../src/opencode/answers.js";
import { hostGitArgv, hostGitEnv } from "../../src/util/host-git.js";
import { sanitizeTerminal, sanitizeTerminalKeeping } from "../../src/util/terminal-text.js";

describe("terminal text", () => {
  it("escapes C0 (but newline and tab), DEL, C1 and bidi overrides visibly", () => {
    const hostile = "a\u001b]52;c;cHduZWQ=\u0007b\u001b[2J\u001b[Hc\r\n\td\u007fe\u009bf\u202eg\u0000";
    const out = sanitizeTerminal(hostile);
    expect(out).toBe("a\\x1b]52;c;cHduZWQ=\\x07b\\x1b[2J\\x1b[Hc\\x0d\n\td\\x7fe\\x9bf\\u202eg\\x00");
    expect(out).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
  });

  it("keeps only the exact sequences it is told to keep", () => {
    const keep = ["\u001b[31m", "\u001b[0m"];
    expect(sanitizeTerminalKeeping("\u001b[31merror:\u001b[0m \u001b[8mhidden\u001b[31", keep)).toBe(
      "\u001b[31merror:\u001b[0m \\x1b[8mhidden\\x1b[31",
    );
    expect(sanitizeTerminalKeeping("\u001b[31m", [])).toBe("\\x1b[31m");
  });
});

describe("ocbox's own git", () => {
  it("reads no config, hook, driver or pager from anywhere and inherits no GIT_ variable", () => {
    const env = hostGitEnv("/tmp/ocbox-git-x", {
      PATH: "/usr/bin",
      GIT_DIR: "/evil/.git",
      GIT_EXTERNAL_DIFF: "/evil/x",
      GIT_CONFIG_PARAMETERS: "'diff.external'='/evil/x'",
      HOME: "/home/me",
    });
    expect(env).toMatchObject({
      PATH: "/usr/bin",
      HOME: "/tmp/ocbox-git-x",
      GIT_CONFIG_GLOBAL: "/dev/null",
      GIT_CONFIG_SYSTEM: "/dev/null",
      GIT_CONFIG_NOSYSTEM: "1",
      GIT_CEILING_DIRECTORIES: "/tmp",
      GIT_TERMINAL_PROMPT: "0",
    });
    for (const k of ["GIT_DIR", "GIT_EXTERNAL_DIFF", "GIT_CONFIG_PARAMETERS"]) expect(env[k]).toBeUndefined();
    const argv = hostGitArgv(["diff", "--no-index", "--", "/a", "/b"]);
    expect(argv.slice(0, 2)).toEqual(["git", "--no-pager"]);
    expect(argv).toEqual(expect.arrayContaining(["core.fsmonitor=false", "core.hooksPath=/dev/null"]));
    const sub = argv.indexOf("diff");
    expect(argv.slice(sub, sub + 3)).toEqual(["diff", "--no-ext-diff", "--no-textconv"]);
    expect(argv.slice(-4)).toEqual(["--no-index", "--", "/a", "/b"]);
  });
});

const goodInfo = {
  id: "msg_1",
  role: "assistant",
  providerID: "scripted",
  modelID: "scripted",
  cost: 0.01,
  tokens: { input: 10, output: 5, reasoning: 0, cache: { read: 0, write: 0 } },
  extra: "kept",
};

describe("server answers", () => {
  it("a well-formed answer passes, extra fields kept", () => {
    const data = checkAnswer(
      promptAnswerSchema,
      { info: goodInfo, parts: [{ type: "text", text: "hi" }] },
      "x",
    );
    expect(data.info.tokens.input).toBe(10);
    expect(data.info.extra).toBe("kept");
  });

  it("a string token count is a typed error naming the field", () => {
    const hostile = { ...goodInfo, tokens: { ...goodInfo.tokens, input: "<script>alert(1)</script>" } };
    let error: unknown;
    try {
      checkAnswer(promptAnswerSchema, { info: hostile, parts: [] }, "the prompt");
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(OcboxError);
    const e = error as OcboxError;
    expect(e.code).toBe("OPENCODE");
    expect(e.message).toBe("the OpenCode server's answer to the prompt is invalid");
    expect(e.detail).toMatch(/^info\.tokens\.input: /);
  });

  it("a retry status of the wrong types gives neutral values, never a string where a number goes", () => {
    expect(retryStatusSchema.parse({ type: "retry", attempt: "<b>", message: 5, next: "x" })).toMatchObject({
      attempt: 0,
      message: "",
      next: 0,
    });
    expect(retryStatusSchema.safeParse({ type: "busy" }).success).toBe(false);
  });

  it("an absurd model id, a negative cost and a non-array of parts are refused", () => {
    expect(assistantInfoSchema.safeParse({ ...goodInfo, modelID: "x".repeat(10_000) }).success).toBe(false);
    expect(assistantInfoSchema.safeParse({ ...goodInfo, cost: -1 }).success).toBe(false);
    expect(promptAnswerSchema.safeParse({ info: goodInfo, parts: "no" }).success).toBe(false);
  });
});

function hostileRun(): string {
  const dir = mkdtempSync(join(tmpdir(), "ocbox-report-unit-"));
  const unit = join(dir, "tasks", "t", "r1");
  mkdirSync(unit, { recursive: true });
  const manifest = {
    kind: "ocbox-eval-run",
    version: 1,
    config: { model: "m/x", tasksDir: "/t", repeat: 1, filter: null, role: null, timeoutS: null },
    ocbox: "0",
    opencode: "0",
    createdAt: "",
    updatedAt: "",
    tasks: { t: { digest: "d" } },
    invalid: [],
  };
  writeFileSync(join(dir, "manifest.json"), JSON.stringify(manifest));
  const end = {
    type: "end",
    at: "2026-12-01T00:00:00.000Z",
    unit: "t#1",
    digest: "d",
    outcome: "COMPLETE",
    failureReason: null,
    infra: false,
  };
  writeFileSync(join(dir, "journal.jsonl"), `${JSON.stringify(end)}\n`);
  const record = { key: "t#1", task: "t", repeat: 1, check: null, infra: false, requirements: [] };
  writeFileSync(join(unit, "unit.json"), JSON.stringify(record));
  const result = {
    outcome: "COMPLETE",
    failureReason: null,
    tokens: { input: "<script>alert(1)</script>", output: 2, reasoning: 0, cacheRead: 0, cacheWrite: 0 },
    cost: "<img src=x onerror=alert(2)>",
    timings: { total: 1 },
    model: { providerID: "p", modelID: "<b>m</b>", endpoint: null },
  };
  writeFileSync(join(unit, "result.json"), JSON.stringify(result));
  const session = {
    messages: [
      {
        info: { time: { created: 0 } },
        parts: [{ type: "tool", tool: "bash", state: { title: { html: "<i>" } } }],
      },
      { info: {}, parts: [{ type: "tool", tool: "<svg onload=x>", state: { status: "completed" } }] },
      { info: {}, parts: [{ type: "tool", tool: "bash", state: { time: { start: "<u>" } } }] },
    ],
  };
  writeFileSync(join(unit, "session.json"), JSON.stringify(session));
  return dir;
}

describe("the report on hostile records", () => {
  it("names the bad fields and replaces them before the sums", () => {
    const checked = checkUnitFiles(
      { key: "k", task: "t", infra: false, check: null },
      { tokens: { input: "9" } },
    );
    expect(checked.result.tokens.input).toBe(0);
    expect(checked.invalid).toEqual(
      expect.arrayContaining([expect.stringMatching(/^result\.json tokens\.input: /)]),
    );
  });

  it("a string token count carrying <script> injects no element; the field is reported invalid", async () => {
    const dir = hostileRun();
    const html = readFileSync(await writeReport(dir), "utf8");
    expect(html).not.toMatch(/<(script|img|svg|b|i|u)[\s>]/i);
    expect(html).toContain("invalid data: 2 field(s)");
    expect(html).toMatch(/<li>result\.json tokens\.input: [^<]*<\/li>/);
    expect(html).toMatch(/<li>result\.json cost: [^<]*<\/li>/);
    // Tool parts with a title or a time of the wrong type are skipped; the other one is escaped.
    expect(html).toContain("&lt;svg onload=x&gt;");
  });

  it("the timeline skips parts of the wrong shape", () => {
    const t = toolTimeline({
      messages: [
        {
          info: {},
          parts: [
            { type: "tool", tool: 5 },
            { type: "tool", tool: "ok" },
          ],
        },
      ],
    });
    expect(t.map((x) => x.tool)).toEqual(["ok"]);
  });
});

describe("the session record", () => {
  it("keeps at most maxItems messages and parts, and says how much it dropped", () => {
    const r = new SessionRecord({ maxItems: 3, maxBytes: 1 << 20 });
    r.message("m1", { id: "m1" });
    r.part("m1", "p1", { type: "text", text: "a" });
    r.part("m1", "p1", { type: "text", text: "ab" }); // an update adds no item
    r.part("m1", "p2", { type: "text", text: "c" });
    r.part("m1", "p3", { type: "text", text: "d" });
    r.message("m2", { id: "m2" });
    const s = r.snapshot();
    expect(s.messages).toHaveLength(1);
    expect(s.messages[0]?.parts.map((p) => p.text)).toEqual(["ab", "c"]);
    expect(s.truncated).toMatchObject({ droppedEvents: 2, limit: "items" });
  });

  it("keeps at most maxBytes of JSON, counting an update by its growth", () => {
    const r = new SessionRecord({ maxItems: 1000, maxBytes: 250 });
    r.message("m1", { id: "m1" });
    r.part("m1", "p1", { type: "text", text: "x".repeat(100) });
    r.part("m1", "p1", { type: "text", text: "x".repeat(500) }); // too big: the old one stays
    r.part("m1", "p2", { type: "text", text: "y".repeat(40) });
    const s = r.snapshot();
    expect(s.messages[0]?.parts.map((p) => String(p.text).length)).toEqual([100, 40]);
    expect(s.truncated).toMatchObject({ droppedEvents: 1, limit: "bytes" });
  });

  it("the server's own list is checked and capped the same way", () => {
    const raw = [
      { info: { id: "a" }, parts: Array.from({ length: 10 }, () => ({ type: "text", text: "t" })) },
      { info: "not an object", parts: [] },
    ];
    const out = checkedMessages(raw, { maxItems: 5, maxBytes: 1 << 20 });
    expect(out.messages[0]?.parts).toHaveLength(4);
    expect(out.invalidMessages).toBe(1);
    expect(out.truncated).toMatchObject({ droppedEvents: 6, limit: "items" });
  });
});
