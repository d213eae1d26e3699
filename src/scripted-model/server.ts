import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { parseScenario, type Scenario, type ScenarioInput } from "./scenario.js";
import {
  completionBody,
  completionFor,
  requestText,
  selectResponse,
  streamChunks,
  usageFor,
  type ChatRequest,
} from "./respond.js";

export interface RecordedRequest {
  at: number;
  method: string;
  path: string;
  body: ChatRequest | undefined;
  /** How it was answered: a side rule, a turn (with its index), or no turn left. */
  answeredBy: "side" | "turn" | "exhausted" | "meta";
  turn?: number;
}

export interface ScriptedModelOptions {
  scenario: ScenarioInput | Scenario;
  /** Default 0: a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
}

export interface ScriptedModel {
  /** Base URL with `/v1`, as a provider config wants it. */
  readonly url: string;
  readonly port: number;
  /** Every request received, in order. */
  readonly requests: RecordedRequest[];
  /** Turns not yet answered. */
  remainingTurns(): number;
  /** Replace the scenario; consumed turns are forgotten. */
  setScenario(scenario: ScenarioInput | Scenario): void;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
}

/** What a scripted server holds: its scenario, the turns used, the requests seen. */
interface ScriptState {
  scenario: Scenario;
  consumed: Set<number>;
  requests: RecordedRequest[];
}

/** Answer one chat completion request from the scenario's next matching turn. */
async function answerChat(
  state: ScriptState,
  req: IncomingMessage,
  res: ServerResponse,
  raw: string,
): Promise<void> {
  let body: ChatRequest;
  try {
    body = JSON.parse(raw) as ChatRequest;
  } catch {
    sendJson(res, 400, { error: { message: "request body is not JSON", type: "invalid_request_error" } });
    return;
  }
  const text = requestText(body);
  const selection = selectResponse(state.scenario, state.consumed, text);
  const record: RecordedRequest = {
    at: Date.now(),
    method: req.method ?? "POST",
    path: req.url ?? "",
    body,
    answeredBy: selection.kind,
  };
  state.requests.push(record);
  const model = body.model ?? state.scenario.models[0] ?? "scripted";

  if (selection.kind === "exhausted") {
    sendJson(res, 500, {
      error: {
        message: `scripted model: no turn left for this request (${state.scenario.turns.length} turns, all used)`,
        type: "scripted_exhausted",
      },
    });
    return;
  }
  const turn = selection.kind === "turn" ? selection.turn : { text: selection.text };
  if (selection.kind === "turn") {
    state.consumed.add(selection.index);
    record.turn = selection.index;
  }
  if ("delayMs" in turn && turn.delayMs) await sleep(turn.delayMs);
  if ("hang" in turn) return; // never answer; the socket closes when the client or the server goes.
  if ("status" in turn) {
    sendJson(
      res,
      turn.status,
      turn.body ?? {
        error: { message: `scripted error ${turn.status}`, type: "scripted", code: turn.status },
      },
      turn.headers,
    );
    return;
  }
  if ("malformed" in turn) {
    res.writeHead(200, { "content-type": "text/event-stream" });
    res.write(
      'data: {"id":"broken","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"par',
    );
    res.socket?.destroy();
    return;
  }
  const completion = completionFor(turn);
  if (!completion) return;
  const usage = usageFor(text, completion);
  if (!body.stream) {
    sendJson(res, 200, completionBody(completion, model, usage));
    return;
  }
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  for (const data of streamChunks(completion, model, usage, state.scenario.chunkSize)) {
    res.write(`data: ${data}\n\n`);
  }
  res.end();
}

/**
 * An OpenAI-compatible server that answers from a scenario: the stand-in for a real model in
 * tests, smoke runs and users' own pipelines. See the README, "Scripted model server".
 */
export async function startScriptedModel(options: ScriptedModelOptions): Promise<ScriptedModel> {
  const state: ScriptState = { scenario: parseScenario(options.scenario), consumed: new Set(), requests: [] };
  const requests = state.requests;
  const sockets = new Set<Socket>();

  const server = createServer((req, res) => {
    void (async () => {
      const raw = await readBody(req);
      const path = (req.url ?? "").split("?")[0] ?? "";
      if (req.method === "POST" && path.endsWith("/chat/completions"))
        return answerChat(state, req, res, raw);
      requests.push({ at: Date.now(), method: req.method ?? "", path, body: undefined, answeredBy: "meta" });
      if (req.method === "GET" && path.endsWith("/models")) {
        sendJson(res, 200, {
          object: "list",
          data: state.scenario.models.map((id) => ({
            id,
            object: "model",
            created: 0,
            owned_by: "ocbox-scripted",
          })),
        });
        return;
      }
      if (req.method === "GET" && path === "/_scripted/requests") return sendJson(res, 200, requests);
      if (req.method === "PUT" && path === "/_scripted/scenario") {
        try {
          state.scenario = parseScenario(JSON.parse(raw), "PUT /_scripted/scenario");
          state.consumed = new Set();
          return sendJson(res, 200, { ok: true, turns: state.scenario.turns.length });
        } catch (e) {
          return sendJson(res, 400, { error: e instanceof Error ? e.message : String(e) });
        }
      }
      sendJson(res, 404, { error: { message: `scripted model: no route ${req.method} ${path}` } });
    })().catch((e: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: { message: String(e) } });
      else res.destroy();
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = options.host ?? "127.0.0.1";

  return {
    url: `http://${host}:${address.port}/v1`,
    port: address.port,
    requests,
    remainingTurns: () => state.scenario.turns.length - state.consumed.size,
    setScenario(next) {
      state.scenario = parseScenario(next);
      state.consumed = new Set();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
