/**
 * Roles (FEATURES E9): a role names the model, the system prompt, the role-specific contract
 * fields and whether to ask for wire-enforced structure. Everything a role refers to is checked
 * before any sandbox starts, and an error names the role.
 */
import { z } from "zod";
import type { RoleConfig } from "../config/workflow-schema.js";
import { contractSchemaFor, type ContractSchema } from "./contract.js";
import type { KnownModels } from "../plan/known-models.js";
import type { ModelRef } from "../plan/model-ref.js";
import { planRole, roleEntry } from "../plan/role.js";

export { BUILT_IN_PROVIDERS, checkModel, knownModels, type KnownModels } from "../plan/known-models.js";

const SECTION_ZOD = {
  string: () => z.string(),
  "string[]": () => z.array(z.string()),
  number: () => z.number(),
  boolean: () => z.boolean(),
  object: () => z.record(z.string(), z.unknown()),
} as const;

/** The Agent Contract of a role: the base contract plus its sections. Pure. */
export function roleContract(sections: RoleConfig["sections"]): ContractSchema {
  if (!sections || Object.keys(sections).length === 0) return contractSchemaFor();
  const shape = Object.fromEntries(Object.entries(sections).map(([k, t]) => [k, SECTION_ZOD[t]()]));
  return contractSchemaFor(z.object(shape)) as unknown as ContractSchema;
}

export interface ResolvedRole {
  name: string;
  model: ModelRef | undefined;
  systemPrompt: string | undefined;
  contract: ContractSchema;
  structuredOutput: boolean;
  pool: string | undefined;
  timeouts: RoleConfig["timeouts"];
}

/**
 * Resolve a role by name (plan/role.ts decides). `readPrompt` loads the system prompt file
 * (relative to the config); a missing file is reported with the role named.
 */
export async function resolveRole(
  name: string,
  roles: Record<string, RoleConfig> | undefined,
  known: KnownModels,
  readPrompt: (file: string) => Promise<string | undefined>,
): Promise<ResolvedRole> {
  const file = roleEntry(name, roles).systemPromptFile;
  const role = planRole(name, roles, known, file ? await readPrompt(file) : undefined);
  return { ...role, contract: roleContract(role.sections) };
}
