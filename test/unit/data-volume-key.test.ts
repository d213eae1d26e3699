import { describe, expect, it } from "vitest";
import { dataVolumeKey } from "../../src/sandbox/data-volume.js";

const spec = { dataVolume: "ocbox-app-1-data", agentUser: { uid: 64000, gid: 64000 } };

describe("dataVolumeKey (the host's record of a data volume that got the agent's dirs)", () => {
  it("names the volume, the engine's creation time and the agent user", () => {
    expect(dataVolumeKey(spec, { made: false, createdAt: "2026-12-03T17:06:50Z" })).toBe(
      "ocbox-app-1-data 2026-12-03T17:06:50Z 64000:64000\n",
    );
  });
  it("differs for another creation time or agent user, so the dirs go in again", () => {
    const a = dataVolumeKey(spec, { made: false, createdAt: "2026-12-03T17:06:50Z" });
    expect(dataVolumeKey(spec, { made: false, createdAt: "2026-12-03T17:06:51Z" })).not.toBe(a);
    expect(
      dataVolumeKey(
        { ...spec, agentUser: { uid: 1000, gid: 1000 } },
        { made: false, createdAt: "2026-12-03T17:06:50Z" },
      ),
    ).not.toBe(a);
  });
  it("is none when the engine gives no creation time, or there is no volume: the dirs go in every start", () => {
    expect(dataVolumeKey(spec, { made: false, createdAt: "" })).toBeUndefined();
    expect(dataVolumeKey({ agentUser: spec.agentUser }, { made: true, createdAt: "x" })).toBeUndefined();
  });
});
