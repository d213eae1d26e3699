/** Which volumes a copy-mode sync trusts as the agent's workspace (workspace-volume.ts). */
import { describe, expect, it } from "vitest";
import { LABEL } from "../../src/runtime/labels.js";
import { foreignWorkspaceVolume } from "../../src/sandbox/workspace-volume.js";

const own = { [LABEL.managed]: "true", [LABEL.role]: "workspace-copy", [LABEL.sandbox]: "sb-1" };

describe("foreignWorkspaceVolume", () => {
  it("trusts the sandbox's own workspace volume, kept or not", () => {
    expect(foreignWorkspaceVolume(own, "sb-1")).toBeUndefined();
    expect(foreignWorkspaceVolume({ ...own, [LABEL.kind]: "workspace" }, "sb-1")).toBeUndefined();
  });

  it("refuses a missing volume, an unlabelled one (the engine's own on a mount) and another role", () => {
    expect(foreignWorkspaceVolume(undefined, "sb-1")).toMatch(/no longer exists/);
    expect(foreignWorkspaceVolume({}, "sb-1")).toMatch(/not an ocbox workspace volume/);
    expect(foreignWorkspaceVolume({ ...own, [LABEL.role]: "run-files" }, "sb-1")).toMatch(/not an ocbox/);
    expect(foreignWorkspaceVolume({ ...own, [LABEL.managed]: "false" }, "sb-1")).toMatch(/not an ocbox/);
  });

  it("refuses another sandbox's volume, and any when the sync does not know its sandbox", () => {
    expect(foreignWorkspaceVolume(own, "sb-2")).toMatch(/belongs to sandbox sb-1, not sb-2/);
    expect(foreignWorkspaceVolume(own, undefined)).toMatch(/not \(none\)/);
  });
});
