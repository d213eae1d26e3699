/**
 * A role by name (FEATURES E9): its model, system prompt, contract sections, structure, pool and
 * timeouts, checked before any sandbox starts; an error names the role. Pure: the caller reads
 * the role's systemPromptFile and passes its text (undefined when the file does not exist).
 */
import { OcboxError } from "../errors.js";
import type { RoleConfig } from "../config/workflow-schema.js";
import { checkModel, type KnownModels } from "./known-models.js";
import { parseModelRef, type ModelRef } from "./model-ref.js";

export interface PlannedRole {
  name: string;
  model: ModelRef | undefined;
  systemPrompt: string | undefined;
  /** The role's own contract fields; the executor builds the zod schema from them. */
  sections: RoleConfig["sections"];
  structuredOutput: boolean;
  pool: string | undefined;
  timeouts: RoleConfig["timeouts"];
}

/** The role's config entry; throws CONFIG naming the roles there are when it is unknown. */
export function roleEntry(name: string, roles: Record<string, RoleConfig> | undefined): RoleConfig {
  const role = roles?.[name];
  if (role) return role;
  const names = Object.keys(roles ?? {});
  throw new OcboxError("CONFIG", `unknown role "${name}"`, {
    fix: names.length
      ? `Use one of: ${names.join(", ")}; or define it under roles: in ocbox.yaml.`
      : "Define it under roles: in ocbox.yaml (or --workflow FILE).",
  });
}

export function planRole(
  name: string,
  roles: Record<string, RoleConfig> | undefined,
  known: KnownModels,
  promptText: string | undefined,
): PlannedRole {
  const role = roleEntry(name, roles);
  const model = role.model ? parseModelRef(role.model, `role ${name}: model`) : undefined;
  if (model) checkModel(model, known, `role ${name}`);
  if (role.systemPromptFile && promptText === undefined) {
    throw new OcboxError("CONFIG", `role ${name}: systemPromptFile ${role.systemPromptFile} does not exist`, {
      fix: "Create the file, or fix the path (it is relative to the config file).",
    });
  }
  return {
    name,
    model,
    systemPrompt: role.systemPromptFile ? promptText : undefined,
    sections: role.sections,
    structuredOutput: role.structuredOutput ?? true,
    pool: role.pool,
    timeouts: role.timeouts,
  };
}
