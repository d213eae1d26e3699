/**
 * The JSON Schema of `ocbox.yaml`, generated from the zod schema, for editors (completion, hover
 * docs, checks as you type). Pure.
 *
 * The committed copy is `schema/ocbox.schema.json`. To refresh it after a schema change, run
 * `OCBOX_WRITE_SCHEMA=1 npx vitest run --project unit test/unit/config-schema.test.ts`; the same
 * test fails whenever the committed file and the schema differ. A YAML file opts in with
 * `# yaml-language-server: $schema=<path or URL of ocbox.schema.json>` on its first line.
 */
import { z } from "zod";
import { projectConfigSchema } from "./project-schema.js";

export const PROJECT_SCHEMA_FILE = "schema/ocbox.schema.json";

/** The schema of the file as written (input side: keys with defaults are optional). Draft 7 for editor support. */
export function projectJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(projectConfigSchema, {
    io: "input",
    target: "draft-7",
    unrepresentable: "any",
  });
  return { ...schema, title: "ocbox project config" };
}

/** The exact text of schema/ocbox.schema.json. */
export function projectJsonSchemaText(): string {
  return `${JSON.stringify(projectJsonSchema(), null, 2)}\n`;
}
