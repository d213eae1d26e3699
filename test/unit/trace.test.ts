import { afterEach, describe, expect, it } from "vitest";
import {
  formatTraceLine,
  setTraceSink,
  traceMark,
  traceWanted,
  traced,
  tracedSync,
  type TraceSpan,
} from "../../src/util/trace.js";

afterEach(() => setTraceSink(undefined));

describe("the debug timing trace (OCBOX_TRACE, issue 16)", () => {
  it("prints start and duration in ms, aligned, and names a step that threw", () => {
    expect(formatTraceLine({ name: "plan.path-probe", startMs: 8.46, durationMs: 441.23 })).toBe(
      "ocbox trace +      8.5 ms    441.2 ms  plan.path-probe",
    );
    expect(formatTraceLine({ name: "x", startMs: 0, durationMs: 1, failed: "ENGINE" })).toMatch(
      /x {2}\(threw ENGINE\)$/,
    );
  });

  it("is on for OCBOX_TRACE=1 and off when unset, empty or 0", () => {
    expect(traceWanted({ OCBOX_TRACE: "1" })).toBe(true);
    expect(traceWanted({})).toBe(false);
    expect(traceWanted({ OCBOX_TRACE: "" })).toBe(false);
    expect(traceWanted({ OCBOX_TRACE: "0" })).toBe(false);
  });

  it("records each step with its duration, passes results and errors through, and costs nothing when off", async () => {
    const spans: TraceSpan[] = [];
    expect(await traced("off", () => Promise.resolve(1))).toBe(1);
    setTraceSink((s) => spans.push(s));
    expect(await traced("a", () => new Promise((r) => setTimeout(() => r("v"), 20)))).toBe("v");
    expect(tracedSync("b", () => 2)).toBe(2);
    const boom = Object.assign(new Error("no"), { code: "ENGINE" });
    await expect(traced("c", () => Promise.reject(boom))).rejects.toBe(boom);
    traceMark("d");
    expect(spans.map((s) => s.name)).toEqual(["a", "b", "c", "d"]);
    expect(spans[0]?.durationMs).toBeGreaterThanOrEqual(15);
    expect(spans[2]?.failed).toBe("ENGINE");
    expect(spans[3]?.durationMs).toBe(0);
  });
});
