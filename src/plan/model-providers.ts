/**
 * The providers a task sandbox's OpenCode loads from the models.dev snapshot (its models file,
 * opencode/models-snapshot.ts): every provider the task can call, and no other. Those are the
 * ones egress-gaps.ts works out (the task's model, the configs' models and provider blocks, the
 * key variables passed in; a task sandbox gets no auth.json), the structurer's model, and
 * OpenCode's own keyless `opencode` provider, which it connects without a key. OpenCode builds its
 * provider state from every entry of the file, about 1.4 s of CPU for the whole snapshot;
 * `ocbox up` keeps the whole snapshot, since a person may connect any provider from its UI. Pure.
 */
import { providersNeeded, type GapInput } from "./egress-gaps.js";
import type { ModelRef } from "./model-ref.js";

/** OpenCode's own provider: connected with no key (its free models), so always offered. */
export const KEYLESS_PROVIDER = "opencode";

export function taskModelProviders(
  input: Omit<GapInput, "egress">,
  alsoModels: ReadonlyArray<ModelRef | undefined> = [],
): string[] {
  const ids = new Set(providersNeeded(input).keys());
  for (const m of alsoModels) if (m) ids.add(m.providerID);
  ids.add(KEYLESS_PROVIDER);
  return [...ids].sort();
}
