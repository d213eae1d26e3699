/**
 * Issue 17, failure 7: the files ocbox reads back are checked with zod and carry a version. Per
 * format: a file of today's ocbox (no version) loads as version 1, a damaged one is a clear error
 * naming the file and the fix, a newer version is refused. Plus the engine errors told as what
 * they are. No Docker.
 */
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { OcboxError } from "../../src/errors.js";
import { Journal, journalState, parseJournal, readJournal } from "../../src/eval/journal.js";
import { parseManifest, readManifest } from "../../src/eval/manifest.js";
import { readJudgeRecord } from "../../src/eval/run-view.js";
import { readUnit } from "../../src/eval/run-view.js";
import { fixFor } from "../../src/executor/smoke.js";
import { aptHelperScript } from "../../src/image/apt-scripts.js";
import { sandboxDockerfile, egressDockerfile } from "../../src/image/dockerfile.js";
import {
  MAX_RECORDS_PER_FILE,
  mergeRecords,
  parseApprovalRecords,
  readApprovalRecords,
  recordApprovals,
  revokeApprovals,
} from "../../src/executor/approval-records.js";
import { sandboxRows } from "../../src/project/sandbox-list.js";
import { engineError } from "../../src/runtime/engine-errors.js";
import { LABEL, agentLabels, ownerOf, shouldReap } from "../../src/runtime/labels.js";

/** The error `fn` throws (a test fails when it throws none). */
function thrown(fn: () => unknown): OcboxError {
  try {
    fn();
  } catch (e) {
    if (e instanceof OcboxError) return e;
    throw e;
  }
  throw new Error("expected an OcboxError");
}

const open = '{"type":"open","at":"2026-11-30T10:00:00.000Z","pid":7,"configDigest":"abc"}';
const begin = (u: string) => `{"type":"begin","at":"2026-11-30T10:00:01.000Z","unit":"${u}"}`;
const end = (u: string) =>
  `{"type":"end","at":"2026-11-30T10:00:02.000Z","unit":"${u}","digest":"d","outcome":"COMPLETE","failureReason":null,"infra":false}`;

describe("journal", () => {
  it("a journal of today's ocbox (no version) loads as version 1", () => {
    const entries = parseJournal([open, begin("a#1"), end("a#1"), ""].join("\n"), "j.jsonl");
    expect(entries[0]).toMatchObject({ type: "open", version: 1 });
    expect([...journalState(entries).finished.keys()]).toEqual(["a#1"]);
  });

  it("drops only a torn last line, with a warning", () => {
    const warnings: string[] = [];
    const torn = [open, begin("a#1"), end("a#1"), begin("b#1"), '{"type":"end","at":"20'].join("\n");
    const entries = parseJournal(torn, "j.jsonl", (w) => warnings.push(w));
    expect(entries).toHaveLength(4);
    expect(warnings).toEqual([
      expect.stringMatching(/^j\.jsonl line 5: dropped a line cut short by a crash/),
    ]);
    expect([...journalState(entries).interrupted]).toEqual(["b#1"]);
  });

  it("a damaged middle line is an error naming the file, the line and the fix", () => {
    const e = thrown(() =>
      parseJournal([open, "\u0000\u0000garbage", end("a#1"), ""].join("\n"), "/o/j.jsonl"),
    );
    expect(e.code).toBe("CONFIG");
    expect(e.exitCode).toBe(2);
    expect(e.message).toBe("/o/j.jsonl line 2: the run journal is damaged (not a JSON entry)");
    expect(e.fix).toMatch(/ocbox changed nothing/);
  });

  it("a last line that ends with a newline is not torn: an error too", () => {
    expect(() => parseJournal([open, "{not json", ""].join("\n"), "j")).toThrow(
      /line 2: the run journal is damaged/,
    );
  });

  it("an entry with a wrong field, or of a newer version, is an error", () => {
    const bad = thrown(() => parseJournal(`${open}\n{"type":"end","unit":"a#1"}\n`, "j"));
    expect(bad.message).toBe("j line 2: the run journal is not valid");
    expect(bad.detail).toMatch(/at/);
    const newer = thrown(() => parseJournal(`${open.replace('"pid"', '"version":2,"pid"')}\n`, "j"));
    expect(newer.message).toMatch(/version 2, newer than this ocbox reads \(1\)/);
  });

  it("a missing journal is empty; an unreadable one is an error, never 'nothing finished'", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ocbox-journal-"));
    expect(await readJournal(join(dir, "none.jsonl"))).toEqual([]);
    await expect(readJournal(dir)).rejects.toThrow(/cannot read the run journal .*: EISDIR/);
  });

  it("appending after a torn line starts a line of its own, and writes the version", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ocbox-journal-"));
    const file = join(dir, "journal.jsonl");
    writeFileSync(file, `${open}\n${end("a#1")}\n{"type":"be`);
    const j = new Journal(file);
    j.append({ type: "open", at: "2026-11-30T11:00:00.000Z", pid: 8, configDigest: "abc" });
    j.close();
    expect(readFileSync(file, "utf8").split("\n").at(-2)).toMatch(/^\{"type":"open",.*"version":1\}$/);
    const entries = await readJournal(file);
    expect(entries.map((e) => e.type)).toEqual(["open", "end", "open"]);
  });
});

const manifest = {
  kind: "ocbox-eval-run",
  config: { model: "m/x", tasksDir: "/t", repeat: 1, filter: null, role: null, timeoutS: null },
  ocbox: "0.1.0",
  opencode: "1.0.0",
  createdAt: "2026-11-30T10:00:00.000Z",
  updatedAt: "2026-11-30T10:00:00.000Z",
  tasks: { a: { digest: "d" } },
  invalid: [],
};

describe("run manifest", () => {
  it("a manifest without version loads as version 1", () => {
    expect(parseManifest(JSON.stringify(manifest), "m.json")).toMatchObject({
      version: 1,
      tasks: { a: { digest: "d" } },
    });
  });

  it("an invalid or newer manifest is an error naming the file and the field", async () => {
    const e = thrown(() =>
      parseManifest(
        JSON.stringify({ ...manifest, config: { ...manifest.config, repeat: "2" } }),
        "/o/manifest.json",
      ),
    );
    expect(e.message).toBe("/o/manifest.json: the run manifest is not valid");
    expect(e.detail).toMatch(/^config\.repeat: /);
    expect(e.fix).toMatch(/--output a new folder/);
    expect(() => parseManifest("{", "m")).toThrow(/m: the run manifest is not JSON/);
    expect(() => parseManifest(JSON.stringify({ ...manifest, version: 3 }), "m")).toThrow(/version 3, newer/);
    const dir = mkdtempSync(join(tmpdir(), "ocbox-manifest-"));
    expect(await readManifest(dir)).toBeUndefined();
  });
});

describe("approval record", () => {
  const hash = "a".repeat(64);
  it("today's approved.json (version 1, or no version) is carried over; a written one is version 2, 0600", async () => {
    expect(parseApprovalRecords({ hook: null, config: hash }, "f")).toEqual([
      { kind: "ocbox-yaml", path: "ocbox.yaml", sha256: hash, approvedAt: "1970-01-01T00:00:00.000Z" },
    ]);
    expect(parseApprovalRecords({ version: 1, hook: hash }, "f")).toEqual([
      { kind: "hook", sha256: hash, approvedAt: "1970-01-01T00:00:00.000Z" },
    ]);
    const file = join(mkdtempSync(join(tmpdir(), "ocbox-approvals-")), "approved.json");
    expect(await readApprovalRecords(file)).toEqual([]);
    writeFileSync(file, JSON.stringify({ config: hash, hook: hash }));
    const verdict = { kind: "opencode-json" as const, path: "opencode.json", sha256: "b".repeat(64) };
    await recordApprovals(
      file,
      [{ ...verdict, status: "unapproved", weakening: [] }],
      new Map([["b".repeat(64), "{}"]]),
    );
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const stored = JSON.parse(readFileSync(file, "utf8")) as { version: number; records: unknown[] };
    expect(stored.version).toBe(2);
    const records = await readApprovalRecords(file);
    expect(records.map((r) => [r.kind, r.sha256.slice(0, 1), r.text])).toEqual([
      ["opencode-json", "b", "{}"],
      ["ocbox-yaml", "a", undefined],
      ["hook", "a", undefined],
    ]);
    expect(await revokeApprovals(file, { path: "opencode.json" })).toBe(1);
    expect((await readApprovalRecords(file)).length).toBe(2);
  });

  it("keeps the newest records per file; the same bytes approved again are one record", () => {
    const rec = (i: number) => ({
      kind: "ocbox-yaml" as const,
      path: "ocbox.yaml",
      sha256: String(i % 10).repeat(64),
      approvedAt: `t${i}`,
    });
    let all = mergeRecords([], [rec(1)]);
    all = mergeRecords(all, [rec(1)]);
    expect(all).toHaveLength(1);
    for (let i = 0; i < 30; i++)
      all = mergeRecords(all, [{ ...rec(i), sha256: i.toString(16).padStart(64, "0") }]);
    expect(all).toHaveLength(MAX_RECORDS_PER_FILE);
    expect(all[0]?.approvedAt).toBe("t29");
  });

  it("a damaged record is an error with the fix, not a silent 'nothing approved'", () => {
    const e = thrown(() => parseApprovalRecords({ config: 5 }, "/s/approved.json"));
    expect(e.message).toBe("/s/approved.json: the approval record is not valid");
    expect(e.fix).toMatch(/^Delete \/s\/approved\.json/);
    expect(() => parseApprovalRecords({ version: 3, records: [] }, "f")).toThrow(/version 3, newer/);
  });
});

describe("labels", () => {
  const old = {
    [LABEL.managed]: "true",
    [LABEL.sandbox]: "proj-1",
    [LABEL.run]: "r1",
    [LABEL.role]: "agent",
    [LABEL.ownerHost]: "h",
    [LABEL.ownerPid]: "42",
    [LABEL.ownerStart]: "99",
    [LABEL.lifetime]: "session",
    [LABEL.port]: "4100",
    [LABEL.workspace]: "/w",
  };
  const summary = (labels: Record<string, string>) => ({
    id: "c1",
    name: "ocbox-proj-1-r1-agent",
    image: "i",
    state: "running",
    status: "Up",
    labels,
    createdAt: new Date("2026-11-30T10:00:00Z"),
  });

  it("labels of today's ocbox (no version label) read as version 1", () => {
    expect(agentLabels("c", old)).toMatchObject({
      sandboxId: "proj-1",
      port: 4100,
      ownerPid: 42,
      lifetime: "session",
    });
    expect(ownerOf(old)).toEqual({ host: "h", pid: 42, start: "99" });
    expect(shouldReap(old, "h", () => "dead")).toBe(true);
    expect(sandboxRows([summary(old)], new Date("2026-11-30T10:01:00Z"))[0]).toMatchObject({
      port: 4100,
      uptimeS: 60,
    });
  });

  it("bad or newer labels are an error naming the container; a newer one is never reaped", () => {
    const bad = thrown(() => agentLabels("ocbox-x", { ...old, [LABEL.port]: "http" }));
    expect(bad.message).toBe("container ocbox-x carries ocbox labels this ocbox cannot read");
    expect(bad.detail).toMatch(/dev\.ocbox\.port/);
    expect(bad.fix).toMatch(/docker rm -f ocbox-x/);
    const newer = { ...old, [LABEL.version]: "2" };
    expect(() => agentLabels("ocbox-x", newer)).toThrow(/labels of version 2/);
    expect(shouldReap(newer, "h", () => "dead")).toBe(false);
    expect(ownerOf({ ...old, [LABEL.ownerPid]: "4x" })).toBeUndefined();
  });
});

describe("engine errors", () => {
  const refused = Object.assign(new Error("connect ECONNREFUSED /x.sock"), { code: "ECONNREFUSED" });
  it("a refused socket is 'no engine' at first and 'stopped answering' once it had answered", () => {
    const first = engineError("unix:///x.sock", "list containers", refused, false);
    expect(first.code).toBe("ENGINE_UNAVAILABLE");
    expect(first.message).toBe("no container engine answers at unix:///x.sock");
    const later = engineError("unix:///x.sock", "inspect container", refused, true);
    expect(later.message).toBe("the engine at unix:///x.sock stopped answering (inspect container)");
    expect(later.exitCode).toBe(3);
    expect(later.fix).not.toMatch(/memory|disk/);
  });

  it("an HTTP error is an ENGINE error with its status; an OcboxError passes as it is", () => {
    const e = engineError(
      "u",
      "create container",
      Object.assign(new Error("no such image"), { statusCode: 404 }),
      true,
    );
    expect(e).toMatchObject({
      code: "ENGINE",
      message: "the engine at u refused to create container (HTTP 404)",
    });
    expect(e.detail).toBe("no such image");
    const own = new OcboxError("IMAGE_BUILD", "x");
    expect(engineError("u", "build", own, true)).toBe(own);
  });

  it("smoke gives the memory/disk fix only to a sandbox that would not start", () => {
    expect(fixFor("sandbox", "SANDBOX_START")).toMatch(/free memory and disk/);
    expect(fixFor("sandbox", "ENGINE")).not.toMatch(/memory|disk/);
    expect(fixFor("sandbox", undefined)).not.toMatch(/memory|disk/);
  });
});

describe("no setuid or setgid files", () => {
  it("the apt step of both images strips the bits and asserts none is left, in the same RUN", () => {
    for (const df of [
      sandboxDockerfile({ base: "b", packages: ["tini"], hostCa: false }),
      egressDockerfile({ base: "b", packages: ["tini"], hostCa: false }),
    ]) {
      const aptRun = df.split("\nRUN ").find((step) => step.includes("apt-get install")) ?? "";
      expect(aptRun).toContain("find / -xdev -perm /6000 ! -type l -exec chmod ug-s {} +");
      expect(aptRun).toMatch(/setuid\/setgid left/);
      expect(df.match(/perm \/6000 ! -type l -exec/g)).toHaveLength(1);
    }
  });

  it("the apt helper masks modes after every dpkg -x", () => {
    expect(aptHelperScript).toContain('dpkg -x "$deb" "$PREFIX" && strip_modes');
    expect(aptHelperScript).toContain(
      'find "$PREFIX" -xdev -perm /6022 ! -type l -exec chmod ug-s,go-w {} +',
    );
  });
});

describe("unit and judge records", () => {
  it("a missing file means not finished; a damaged one is an error naming it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ocbox-unit-"));
    expect(await readUnit(dir)).toBeUndefined();
    expect(await readJudgeRecord(dir)).toBeUndefined();
    writeFileSync(join(dir, "unit.json"), "{}");
    writeFileSync(join(dir, "result.json"), '{"outcome":');
    await expect(readUnit(dir)).rejects.toThrow(`${join(dir, "result.json")}: the unit result is not JSON`);
    writeFileSync(join(dir, "judge.json"), "[");
    await expect(readJudgeRecord(dir)).rejects.toThrow(/judge\.json: the judge record is not JSON/);
  });
});
