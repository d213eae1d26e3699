import type { OpencodeClient } from "@opencode-ai/sdk/v2";
import { describe, expect, it } from "vitest";
import { recordSession, recordSettled } from "../../src/eval/session-export.js";
import { overheadSeconds, StepTimer } from "../../src/eval/unit-steps.js";

const SID = "ses_1";
const user = { info: { id: "m1", sessionID: SID, role: "user" }, parts: [] };
const pending = { info: { id: "m2", sessionID: SID, role: "assistant", time: { created: 1 } }, parts: [] };
const done = { info: { ...pending.info, time: { created: 1, completed: 2 } }, parts: [] };

/** A client whose event stream sends `events` and whose session calls are counted. */
function fakeClient(events: unknown[]) {
  const calls = { get: 0, messages: 0 };
  const client = {
    event: {
      subscribe: () =>
        Promise.resolve({
          stream: (async function* () {
            for (const e of events) yield e;
            await new Promise(() => {}); // the stream stays open until the sandbox goes
          })(),
        }),
    },
    session: {
      get: () => (calls.get++, Promise.resolve({ data: { id: SID, title: "from the server" } })),
      messages: () => (calls.messages++, Promise.resolve({ data: undefined, error: { name: "BadRequest" } })),
    },
  };
  return { client: client as unknown as OpencodeClient, calls };
}

const settle = () => new Promise((r) => setTimeout(r, 10));

describe("a unit's cost beyond its task", () => {
  it("times steps, adds repeats, and counts a step that throws", async () => {
    let now = 0;
    const t = new StepTimer(() => now);
    const take = (ms: number) => () => Promise.resolve(void (now += ms));
    await t.time("copy-in", take(250));
    await t.time("diff", take(40));
    await t.time("diff", take(10));
    await expect(
      t.time("files", () => {
        now += 5;
        return Promise.reject(new Error("disk full"));
      }),
    ).rejects.toThrow("disk full");
    t.add("task", 3);
    expect(t.snapshot()).toEqual({ "copy-in": 0.25, diff: 0.05, files: 0.005, task: 3 });
  });

  it("counts every step but the task's own and the check as overhead", () => {
    expect(overheadSeconds({ "copy-in": 0.01, task: 3, check: 1, export: 0.002, "copy-back": 0.02 })).toBe(
      0.032,
    );
    expect(overheadSeconds({})).toBe(0);
  });

  it("calls a session settled once every assistant message has completed", () => {
    expect(recordSettled([])).toBe(false);
    expect(recordSettled([user])).toBe(false);
    expect(recordSettled([user, pending])).toBe(false);
    expect(recordSettled([user, done])).toBe(true);
    expect(recordSettled([user, done, { ...pending, info: { ...pending.info, id: "m3" } }])).toBe(false);
  });

  it("exports a settled session from its event record, asking the server nothing", async () => {
    const { client, calls } = fakeClient([
      { type: "session.updated", properties: { info: { id: SID, title: "t" } } },
      { type: "message.updated", properties: { info: user.info } },
      {
        type: "message.part.updated",
        properties: { part: { id: "p1", sessionID: SID, messageID: "m2", type: "text", text: "done" } },
      },
      { type: "message.updated", properties: { info: done.info } },
      { type: "session.updated", properties: { info: { id: "ses_other", title: "not this one" } } },
    ]);
    const rec = recordSession(client, SID);
    await settle();
    const out = await rec.export();
    rec.stop();
    expect(calls).toEqual({ get: 0, messages: 0 });
    expect(out.info).toEqual({ id: SID, title: "t" });
    expect(out.messages.map((m) => [m.info.id, m.parts.length])).toEqual([
      ["m1", 0],
      ["m2", 1],
    ]);
  });

  it("asks the server when the stream has not seen the turn end", async () => {
    const { client, calls } = fakeClient([
      { type: "session.updated", properties: { info: { id: SID, title: "t" } } },
      { type: "message.updated", properties: { info: pending.info } },
    ]);
    const rec = recordSession(client, SID, undefined, 50);
    await settle();
    const out = await rec.export();
    rec.stop();
    expect(calls).toEqual({ get: 1, messages: 1 });
    // The message list answered 400 (structured output): the record, with the server's info.
    expect(out.info).toEqual({ id: SID, title: "from the server" });
    expect(out.messages.map((m) => m.info.id)).toEqual(["m2"]);
  });
});
