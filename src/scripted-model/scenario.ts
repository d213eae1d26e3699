import { readFile } from "node:fs/promises";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { OcboxError } from "../errors.js";
import { formatZodIssues } from "../config/zod-errors.js";

const toolCall = z
  .object({
    name: z.string().min(1).describe("Tool name as OpenCode offers it, e.g. write, bash, read."),
    arguments: z.record(z.string(), z.unknown()).describe("Tool arguments, sent as a JSON string."),
  })
  .strict();

const common = {
  delayMs: z.number().int().min(0).optional().describe("Wait this long before answering."),
  match: z
    .string()
    .min(1)
    .optional()
    .describe("Answer only a request whose messages contain this substring."),
};

export const turnSchema = z.union([
  z.object({ ...common, text: z.string() }).strict(),
  z.object({ ...common, toolCalls: z.array(toolCall).min(1) }).strict(),
  z.object({ ...common, structured: z.record(z.string(), z.unknown()) }).strict(),
  z
    .object({
      ...common,
      status: z.number().int().min(400).max(599),
      body: z.unknown().optional(),
      headers: z.record(z.string(), z.string()).optional(),
    })
    .strict(),
  z.object({ ...common, hang: z.literal(true) }).strict(),
  z.object({ ...common, malformed: z.literal(true) }).strict(),
]);
export type Turn = z.infer<typeof turnSchema>;

export const sideSchema = z
  .object({
    match: z.string().min(1).describe("Substring of the request's messages that marks a side request."),
    text: z.string(),
  })
  .strict();
export type SideRule = z.infer<typeof sideSchema>;

export const scenarioSchema = z
  .object({
    models: z.array(z.string().min(1)).default(["scripted"]).describe("Ids listed by GET /v1/models."),
    turns: z.array(turnSchema).default([]),
    side: z.array(sideSchema).default([]),
    /** Streamed text is cut into chunks of this many characters. */
    chunkSize: z.number().int().min(1).default(64),
  })
  .strict();
export type Scenario = z.infer<typeof scenarioSchema>;
export type ScenarioInput = z.input<typeof scenarioSchema>;

/**
 * OpenCode's own side requests (session titles, summaries) carry these markers in their system
 * prompt. They are answered apart and never consume a turn.
 */
export const builtInSideRules: readonly SideRule[] = [
  { match: "You are a title generator", text: "Scripted session" },
  { match: "Summarize what was done in this conversation", text: "Scripted summary." },
];

export function parseScenario(input: unknown, source = "scenario"): Scenario {
  const result = scenarioSchema.safeParse(input);
  if (!result.success) {
    throw new OcboxError("CONFIG", `${source} is not a valid scripted-model scenario`, {
      detail: formatZodIssues(result.error),
      fix: "See 'Scripted model server' in the README for the scenario format.",
    });
  }
  return result.data;
}

export async function loadScenarioFile(path: string): Promise<Scenario> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    throw new OcboxError("CONFIG", `cannot read scenario file ${path}`, {
      cause: e,
      fix: "Pass an existing YAML or JSON file with --scenario.",
    });
  }
  let data: unknown;
  try {
    data = parseYaml(text);
  } catch (e) {
    throw new OcboxError("CONFIG", `${path} is not valid YAML/JSON`, {
      detail: e instanceof Error ? e.message : String(e),
    });
  }
  return parseScenario(data, path);
}
