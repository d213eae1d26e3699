import { describe, expect, it } from "vitest";
import { refillCount, takeStep, type PoolCounts } from "../../src/executor/warm-pool-gate.js";

const at = (c: Partial<PoolCounts>): PoolCounts => ({
  ready: 0,
  starting: 0,
  taken: 0,
  started: 0,
  closed: false,
  ...c,
});

describe("the warm pool's refill gate", () => {
  it("fills to its size within its limit when there is no gate", () => {
    expect(refillCount(at({}), { size: 3 })).toBe(3);
    expect(refillCount(at({ ready: 1, starting: 1 }), { size: 3 })).toBe(1);
    expect(refillCount(at({ started: 7 }), { size: 3, limit: 8 })).toBe(1);
    expect(refillCount(at({ closed: true }), { size: 3 })).toBe(0);
    // Taken sandboxes do not count without a gate: the refill runs beside every agent.
    expect(refillCount(at({ taken: 2 }), { size: 2 })).toBe(2);
  });

  it("starts no refill while the taken and starting sandboxes fill the cores", () => {
    // 2 workers on 2 cores: both agents running, no refill until one ends.
    expect(refillCount(at({ taken: 2, started: 2 }), { size: 2, maxBusy: 2 })).toBe(0);
    expect(refillCount(at({ taken: 1, started: 2 }), { size: 2, maxBusy: 2 })).toBe(1);
    // 1 worker on 2 cores, a pool of 2: one agent and one refill at a time.
    expect(refillCount(at({ taken: 1, ready: 1, started: 2 }), { size: 2, maxBusy: 2 })).toBe(1);
    expect(refillCount(at({ taken: 1, starting: 1, started: 2 }), { size: 3, maxBusy: 2 })).toBe(0);
    // 4 workers at the start: two sandboxes start, not four.
    expect(refillCount(at({}), { size: 4, maxBusy: 2 })).toBe(2);
  });

  it("starts no more than maxStarting at once, whatever the size and the taken ones", () => {
    // 4 workers, one boot at a time: one starts now, the next when it is ready.
    expect(refillCount(at({}), { size: 4, maxStarting: 1 })).toBe(1);
    expect(refillCount(at({ starting: 1 }), { size: 4, maxStarting: 1 })).toBe(0);
    expect(refillCount(at({ ready: 1, started: 1 }), { size: 4, maxStarting: 1 })).toBe(1);
    expect(refillCount(at({ taken: 3, starting: 1, started: 4 }), { size: 4, maxStarting: 2 })).toBe(1);
    // With a gate as well, the smaller room wins.
    expect(refillCount(at({ taken: 1 }), { size: 4, maxBusy: 2, maxStarting: 2 })).toBe(1);
  });

  it("tells a task to take, wait for a start, wait for a finish, or go cold", () => {
    const l = { size: 2, limit: 8, maxBusy: 2 };
    expect(takeStep(at({ ready: 1 }), l)).toBe("take");
    expect(takeStep(at({ starting: 1, taken: 2 }), l)).toBe("wait-start");
    // Only the gate holds the refill back: a unit's end will start one for this task.
    expect(takeStep(at({ taken: 2, started: 4 }), l)).toBe("wait-finish");
    // Nothing is coming: the limit is reached, a start failed, the pool is closed, or no gate.
    expect(takeStep(at({ taken: 2, started: 8 }), l)).toBe("cold");
    expect(takeStep(at({ taken: 1, started: 3 }), l)).toBe("cold");
    expect(takeStep(at({ taken: 2, started: 4, closed: true }), l)).toBe("cold");
    expect(takeStep(at({ taken: 2, started: 4 }), { size: 2 })).toBe("cold");
    expect(takeStep(at({ taken: 2 }), { size: 0, maxBusy: 2 })).toBe("cold");
  });
});
