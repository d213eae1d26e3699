/**
 * One prompt on a server inside a sandbox, waited for, reduced to what callers need: the final
 * text, the structured payload, the provider error if any, token usage and cost.
 */
import type { OpencodeClient } from "@opencode-ai/sdk/v2";
import { OcboxError, errorMessage } from "../errors.js";
import {
  checkAnswer,
  createdSessionSchema,
  promptAnswerSchema,
  type AssistantInfo,
  type CheckedPart,
} from "./answers.js";

export interface PromptInput {
  sessionId: string;
  text: string;
  /** Wire-enforced structure: OpenCode's StructuredOutput tool with this JSON schema. */
  schema?: Record<string, unknown>;
  system?: string;
  agent?: string;
  model?: { providerID: string; modelID: string };
  signal?: AbortSignal;
}

export interface ProviderError {
  name: string;
  message: string;
  statusCode?: number;
  retryable?: boolean;
}

export interface PromptOutcome {
  messageId: string;
  /** The text parts of the final assistant message, joined. */
  text: string;
  structured: unknown;
  error: ProviderError | undefined;
  /** The error object exactly as OpenCode reported it, for a classifier. */
  rawError: unknown;
  finish: string | undefined;
  model: { providerID: string; modelID: string };
  tokens: { input: number; output: number; reasoning: number; cacheRead: number; cacheWrite: number };
  cost: number;
}

/** The error on an assistant message, flattened. Pure. */
export function providerError(info: Pick<AssistantInfo, "error">): ProviderError | undefined {
  const e = info.error as { name?: unknown; data?: Record<string, unknown> } | undefined;
  if (!e || typeof e !== "object") return undefined;
  const data = e.data && typeof e.data === "object" ? e.data : {};
  const name = typeof e.name === "string" ? e.name : undefined;
  const message = typeof data.message === "string" ? data.message : (name ?? "error");
  return {
    name: name ?? "UnknownError",
    message,
    ...(typeof data.statusCode === "number" ? { statusCode: data.statusCode } : {}),
    ...(typeof data.isRetryable === "boolean" ? { retryable: data.isRetryable } : {}),
  };
}

/** Join the text of a message's parts, skipping synthetic and ignored ones. Pure. */
export function finalText(parts: readonly CheckedPart[]): string {
  return parts
    .filter((p) => p.type === "text" && !p.synthetic && !p.ignored)
    .map((p) => p.text ?? "")
    .join("");
}

export async function promptAndWait(client: OpencodeClient, input: PromptInput): Promise<PromptOutcome> {
  let result;
  try {
    result = await client.session.prompt(
      {
        sessionID: input.sessionId,
        parts: [{ type: "text", text: input.text }],
        ...(input.schema ? { format: { type: "json_schema", schema: input.schema } } : {}),
        ...(input.system ? { system: input.system } : {}),
        ...(input.agent ? { agent: input.agent } : {}),
        ...(input.model ? { model: input.model } : {}),
      },
      input.signal ? { signal: input.signal } : {},
    );
  } catch (e) {
    if (input.signal?.aborted) throw e;
    throw new OcboxError("OPENCODE", `the prompt request to the OpenCode server failed: ${errorMessage(e)}`, {
      cause: e,
    });
  }
  if (!result.data && !result.response) {
    // No HTTP answer at all: the connection to the server was cut while it worked.
    throw new OcboxError(
      "OPENCODE",
      "the connection to the OpenCode server was cut before it answered the prompt",
      {
        detail: JSON.stringify(result.error ?? {}).slice(0, 2000),
        fix: "Over the engine connection (DOCKER_HOST=ssh://…, exec relays) a forward that ended or a dropped link cuts the requests under way; ocbox reconnects at the next call. Run the task again; `ocbox check` shows whether the engine answers.",
      },
    );
  }
  if (!result.data) {
    throw new OcboxError(
      "OPENCODE",
      `the OpenCode server refused the prompt (HTTP ${result.response.status})`,
      {
        detail: JSON.stringify(result.error ?? {}).slice(0, 2000),
      },
    );
  }
  const data = checkAnswer(promptAnswerSchema, result.data, "the prompt");
  const info = data.info;
  return {
    messageId: info.id,
    text: finalText(data.parts),
    structured: info.structured,
    error: providerError(info),
    rawError: info.error,
    finish: info.finish,
    model: { providerID: info.providerID, modelID: info.modelID },
    tokens: {
      input: info.tokens.input,
      output: info.tokens.output,
      reasoning: info.tokens.reasoning,
      cacheRead: info.tokens.cache.read,
      cacheWrite: info.tokens.cache.write,
    },
    cost: info.cost,
  };
}

export async function newSession(client: OpencodeClient, title?: string): Promise<string> {
  const created = await client.session.create(title ? { title } : {});
  const id = created.data
    ? checkAnswer(createdSessionSchema, created.data, "creating a session").id
    : undefined;
  if (!id) {
    throw new OcboxError(
      "OPENCODE",
      `the OpenCode server did not create a session (HTTP ${created.response.status})`,
    );
  }
  return id;
}
