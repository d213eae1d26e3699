/**
 * What ocbox reads from the OpenCode server inside a sandbox, checked with zod before use. The
 * server runs next to the agent and answers with whatever the agent made of it (ARCHITECTURE
 * decision 8): a token count may arrive as a string of HTML, a model id may carry terminal
 * controls. Every consumer gets checked data or a typed error naming the field; extra fields the
 * server adds are kept, wrong types and absurd sizes are not.
 */
import { z } from "zod";
import { OcboxError } from "../errors.js";

/** Longest model or provider id accepted (real ones are well under 100 characters). */
export const MAX_ID_LENGTH = 256;

const count = z.number().finite().nonnegative();
const id = z.string().min(1).max(MAX_ID_LENGTH);

export const tokensSchema = z.looseObject({
  total: count.optional(),
  input: count,
  output: count,
  reasoning: count,
  cache: z.looseObject({ read: count, write: count }),
});

export const assistantInfoSchema = z.looseObject({
  id: z.string().min(1),
  role: z.literal("assistant").optional(),
  providerID: id,
  modelID: id,
  cost: count,
  tokens: tokensSchema,
  finish: z.string().max(MAX_ID_LENGTH).optional(),
  error: z.unknown().optional(),
  structured: z.unknown().optional(),
});
export type AssistantInfo = z.infer<typeof assistantInfoSchema>;

export const partSchema = z.looseObject({
  type: z.string(),
  text: z.string().optional(),
  synthetic: z.boolean().optional(),
  ignored: z.boolean().optional(),
});
export type CheckedPart = z.infer<typeof partSchema>;

export const promptAnswerSchema = z.looseObject({
  info: assistantInfoSchema,
  parts: z.array(partSchema),
});

export const createdSessionSchema = z.looseObject({ id: z.string().min(1).max(MAX_ID_LENGTH) });

export const healthSchema = z.looseObject({ healthy: z.boolean(), version: z.string().max(MAX_ID_LENGTH) });

const time = z.number().finite();

/** A tool part as the timeline reads it. */
export const toolPartSchema = z.looseObject({
  type: z.literal("tool"),
  tool: z.string(),
  state: z
    .looseObject({
      status: z.string().optional(),
      title: z.string().optional(),
      time: z.looseObject({ start: time.optional(), end: time.optional() }).optional(),
    })
    .optional(),
});

/** One message of a session export: its info (loosely) and its parts. */
export const sessionMessageSchema = z.object({
  info: z.looseObject({
    id: z.string().optional(),
    role: z.string().optional(),
    time: z.looseObject({ created: time.optional() }).optional(),
  }),
  parts: z.array(z.looseObject({ type: z.string() })),
});
export type SessionMessage = z.infer<typeof sessionMessageSchema>;

/** `session.status{retry}`: OpenCode retries a provider error; the message is the provider's. */
export const retryStatusSchema = z.looseObject({
  type: z.literal("retry"),
  attempt: z.number().int().nonnegative().catch(0),
  message: z
    .string()
    .max(64 * 1024)
    .catch(""),
  next: z.number().finite().catch(0),
});

/** `path: problem` for each issue, at most 5. Pure. */
export function describeIssues(error: z.ZodError): string {
  const lines = error.issues.slice(0, 5).map((i) => {
    const path = i.path.length ? i.path.map(String).join(".") : "(top level)";
    return `${path}: ${i.message}`;
  });
  if (error.issues.length > 5) lines.push(`… and ${error.issues.length - 5} more`);
  return lines.join("\n");
}

/** The answer as `schema` types it, or an OPENCODE error naming what was wrong. Pure. */
export function checkAnswer<S extends z.ZodType>(schema: S, value: unknown, what: string): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new OcboxError("OPENCODE", `the OpenCode server's answer to ${what} is invalid`, {
    detail: describeIssues(parsed.error),
    fix: "The server inside the sandbox answered with data of the wrong shape; the agent may have tampered with it. Nothing of it was used.",
  });
}
