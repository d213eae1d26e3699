/**
 * OpenCode's models file in a task sandbox: the models.dev entries of the providers the plan
 * named (spec.modelProviders, plan/model-providers.ts), staged in the run volume beside the
 * generated config, root's and read-only, and `OPENCODE_MODELS_PATH` pointing at it. Without it
 * OpenCode builds its provider state from the whole snapshot bundled in its binary.
 */
import { findAnyOpencodeBinary } from "../image/opencode-binary.js";
import { RUN_DIR } from "../image/dockerfile.js";
import { modelsFileText } from "../opencode/models-snapshot.js";
import type { StagedFile } from "./archive-files.js";
import type { SandboxSpec } from "./spec.js";

export const MODELS_FILE = "models.json";

/** The agent's environment entry for the file (none when the spec names no providers). */
export function modelsFileEnv(spec: Pick<SandboxSpec, "modelProviders">): Record<string, string> {
  return spec.modelProviders ? { OPENCODE_MODELS_PATH: `${RUN_DIR}/${MODELS_FILE}` } : {};
}

/** The run volume's file, or none. */
export async function modelsRunFiles(spec: Pick<SandboxSpec, "modelProviders">): Promise<StagedFile[]> {
  if (!spec.modelProviders) return [];
  const content = await modelsFileText(findAnyOpencodeBinary(), spec.modelProviders);
  return [{ name: MODELS_FILE, content, mode: 0o444, owner: { uid: 0, gid: 0 } }];
}
