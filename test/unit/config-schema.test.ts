import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  PROJECT_SCHEMA_FILE,
  projectJsonSchema,
  projectJsonSchemaText,
} from "../../src/config/json-schema.js";

const committed = join(import.meta.dirname, "..", "..", PROJECT_SCHEMA_FILE);

describe("schema/ocbox.schema.json", () => {
  // `OCBOX_WRITE_SCHEMA=1 npx vitest run --project unit test/unit/config-schema.test.ts` refreshes it.
  if (process.env["OCBOX_WRITE_SCHEMA"] === "1") writeFileSync(committed, projectJsonSchemaText());

  it("is the schema generated from the zod schema (no drift)", () => {
    expect(existsSync(committed)).toBe(true);
    expect(readFileSync(committed, "utf8")).toBe(projectJsonSchemaText());
  });

  it("rejects unknown keys and documents every key", () => {
    const schema = projectJsonSchema() as {
      additionalProperties?: boolean;
      properties?: Record<string, { description?: string }>;
    };
    expect(schema.additionalProperties).toBe(false);
    for (const [key, prop] of Object.entries(schema.properties ?? {}))
      expect(prop.description, key).toBeTruthy();
  });
});
