import { builtInSideRules, type Scenario, type Turn } from "./scenario.js";

/** The parts of an OpenAI chat request that the scripted server looks at. */
export interface ChatRequest {
  model?: string;
  stream?: boolean;
  messages?: Array<{ role?: string; content?: unknown }>;
  tools?: Array<{ function?: { name?: string } }>;
}

export type Selection =
  { kind: "side"; text: string } | { kind: "turn"; index: number; turn: Turn } | { kind: "exhausted" };

/** All text of a request's messages, for `match` rules. */
export function requestText(request: ChatRequest): string {
  const parts: string[] = [];
  for (const message of request.messages ?? []) {
    const content = message.content;
    if (typeof content === "string") parts.push(content);
    if (Array.isArray(content)) {
      for (const part of content as Array<{ text?: unknown }>) {
        if (typeof part?.text === "string") parts.push(part.text);
      }
    }
  }
  return parts.join("\n");
}

/**
 * Which answer a request gets: a side rule first (they never consume a turn), else the first
 * unconsumed turn whose `match` (if any) is in the request.
 */
export function selectResponse(scenario: Scenario, consumed: ReadonlySet<number>, text: string): Selection {
  const side = [...scenario.side, ...builtInSideRules].find((rule) => text.includes(rule.match));
  if (side) return { kind: "side", text: side.text };
  const index = scenario.turns.findIndex(
    (turn, i) => !consumed.has(i) && (turn.match === undefined || text.includes(turn.match)),
  );
  const turn = scenario.turns[index];
  if (turn === undefined) return { kind: "exhausted" };
  return { kind: "turn", index, turn };
}

export interface ToolCallOut {
  id: string;
  name: string;
  arguments: string;
}

export interface Completion {
  text: string;
  toolCalls: ToolCallOut[];
  finishReason: "stop" | "tool_calls";
}

let callCounter = 0;

/** The assistant message a text/toolCalls/structured turn stands for. */
export function completionFor(turn: Turn | { text: string }): Completion | undefined {
  if ("text" in turn) return { text: turn.text, toolCalls: [], finishReason: "stop" };
  const calls =
    "toolCalls" in turn
      ? turn.toolCalls
      : "structured" in turn
        ? [{ name: "StructuredOutput", arguments: turn.structured }]
        : undefined;
  if (calls === undefined) return undefined;
  return {
    text: "",
    toolCalls: calls.map((call) => ({
      id: `call_${++callCounter}`,
      name: call.name,
      arguments: JSON.stringify(call.arguments),
    })),
    finishReason: "tool_calls",
  };
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export function usageFor(promptText: string, completion: Completion): Usage {
  const prompt = Math.ceil(promptText.length / 4);
  const out = Math.ceil(
    (completion.text.length + completion.toolCalls.reduce((n, c) => n + c.arguments.length, 0)) / 4,
  );
  return { prompt_tokens: prompt, completion_tokens: out, total_tokens: prompt + out };
}

/** The SSE `data:` payloads of a streamed answer, `[DONE]` included. */
export function streamChunks(
  completion: Completion,
  model: string,
  usage: Usage,
  chunkSize: number,
  id = `chatcmpl-${Date.now()}`,
): string[] {
  const created = Math.floor(Date.now() / 1000);
  const base = { id, object: "chat.completion.chunk", created, model };
  const chunk = (delta: object, finish: string | null = null): string =>
    JSON.stringify({ ...base, choices: [{ index: 0, delta, finish_reason: finish }] });
  const out = [chunk({ role: "assistant", content: "" })];
  for (let i = 0; i < completion.text.length; i += chunkSize) {
    out.push(chunk({ content: completion.text.slice(i, i + chunkSize) }));
  }
  completion.toolCalls.forEach((call, index) => {
    out.push(
      chunk({
        tool_calls: [
          { index, id: call.id, type: "function", function: { name: call.name, arguments: call.arguments } },
        ],
      }),
    );
  });
  out.push(chunk({}, completion.finishReason));
  out.push(JSON.stringify({ ...base, choices: [], usage }));
  out.push("[DONE]");
  return out;
}

/** A non-streamed `chat.completion` body. */
export function completionBody(completion: Completion, model: string, usage: Usage): object {
  return {
    id: `chatcmpl-${Date.now()}`,
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [
      {
        index: 0,
        message: {
          role: "assistant",
          content: completion.text === "" ? null : completion.text,
          ...(completion.toolCalls.length === 0
            ? {}
            : {
                tool_calls: completion.toolCalls.map((c) => ({
                  id: c.id,
                  type: "function",
                  function: { name: c.name, arguments: c.arguments },
                })),
              }),
        },
        finish_reason: completion.finishReason,
      },
    ],
    usage,
  };
}
