/** `ocbox clean --state`: remove a project's state dir (password, OpenCode sessions, logs, approvals). */
import { rm } from "node:fs/promises";
import { OcboxError } from "../errors.js";
import type { Engine } from "../runtime/engine.js";
import { dataVolumeName } from "../sandbox/data-volume-name.js";
import { findProjectSandbox } from "./sandbox-list.js";
import type { StateLayout } from "../util/state-layout.js";

export async function removeProjectState(
  engine: Engine,
  sandboxId: string,
  state: StateLayout,
): Promise<string> {
  if (await findProjectSandbox(engine, sandboxId)) {
    throw new OcboxError("USAGE", `the sandbox ${sandboxId} is running; its state is in use`, {
      fix: "stop it with `ocbox down` first",
    });
  }
  await rm(state.dir, { recursive: true, force: true });
  // A3: OpenCode's sessions live in the project's data volume, not in the state dir.
  await engine.removeVolume(dataVolumeName(sandboxId));
  return state.dir;
}
