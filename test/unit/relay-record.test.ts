/** Issue 14: the detached relay's record and control line, read strictly (no Docker). */
import { describe, expect, it } from "vitest";
import { OcboxError } from "../../src/errors.js";
import { controlCommand } from "../../src/project/relay-process.js";
import { parseHandedJob, parseRelayRecord } from "../../src/project/relay-record.js";

const token = "0123456789abcdef0123456789abcdef";
const record = {
  version: 1,
  sandboxId: "demo-1a2b3c4d",
  runId: "r-1",
  egressId: "a".repeat(64),
  targets: [
    { listen: "/run/ocbox/sock/fwd-5432.sock", host: "127.0.0.1", port: 5432, what: "host port 5432" },
  ],
  pid: 4242,
  port: 40001,
  token,
  startedAt: "2026-12-01T18:00:00.000Z",
};

describe("detached relay", () => {
  it("a record ocbox wrote reads back; a damaged one names the file and the fix", () => {
    expect(parseRelayRecord(JSON.stringify(record), "/s/relay.json")).toEqual(record);
    for (const bad of [
      "{",
      JSON.stringify({ ...record, token: "short" }),
      JSON.stringify({ ...record, targets: [{ ...record.targets[0], listen: "/x; rm" }] }),
    ]) {
      const e = (() => {
        try {
          parseRelayRecord(bad, "/s/relay.json");
        } catch (err) {
          return err;
        }
        return undefined;
      })();
      expect(e).toBeInstanceOf(OcboxError);
      expect((e as OcboxError).fix).toContain("/s/relay.json");
    }
  });

  it("the control line obeys its token only", () => {
    expect(controlCommand(`${token} status\n`, token)).toBe("status");
    expect(controlCommand(`${token} stop`, token)).toBe("stop");
    expect(controlCommand(`${"f".repeat(32)} stop`, token)).toBeUndefined();
    expect(controlCommand(`${token} exec rm -rf /`, token)).toBeUndefined();
    expect(controlCommand("stop", token)).toBeUndefined();
  });

  it("`ocbox relay` without its job says who starts it", () => {
    expect(() => parseHandedJob(undefined, "OCBOX_RELAY_JOB")).toThrow(/ocbox up --detach/);
    const { pid: _p, port: _o, version: _v, startedAt: _s, token: _t, ...job } = record;
    expect(parseHandedJob(JSON.stringify({ job, token, stateDir: "/s" }), "X").job).toEqual(job);
  });
});
