/**
 * The service's HTTP JSON API on 127.0.0.1 (an ephemeral port unless one is given). Every request
 * needs `Authorization: Bearer <token>`; a Host header other than 127.0.0.1/localhost on this port
 * (DNS rebinding) and any Origin (a browser page) are refused, as the bridge does. A client that
 * sends `x-ocbox-version` must match the service's version. Routes: see openapi.ts.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { bearerMatches } from "../bridge/token.js";
import { OcboxError, errorMessage, isOcboxError } from "../errors.js";
import { OCBOX_VERSION } from "../version.js";
import { openapiDocument } from "./openapi.js";
import { errorBodyOf, VERSION_HEADER } from "./protocol.js";
import type { StoredEvent, TaskStore } from "./task-store.js";

const MAX_BODY = 1024 * 1024;

/** What the routes reach: the tasks, and the service's own operations. */
export interface ServiceApi {
  store: TaskStore;
  /** Validate and start a task; throws a USAGE error naming the field, or ENGINE_UNAVAILABLE. */
  submit(body: unknown): Promise<string>;
  status(): Record<string, unknown>;
  shutdown(): void;
}

export interface ServiceHttp {
  url: string;
  port: number;
  close(): Promise<void>;
}

type Reply = (status: number, body: unknown) => void;

function errorBody(code: string, message: string, fix: string | null = null) {
  return { error: { code, message, fix } };
}

const STATUS_FOR: Record<string, number> = { USAGE: 400, CONFIG: 400, ENGINE_UNAVAILABLE: 503, ENGINE: 503 };

async function readJson(req: IncomingMessage): Promise<unknown> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY)
      throw new OcboxError("USAGE", `the request body is over ${MAX_BODY} bytes`, {
        fix: "Send a smaller task.",
      });
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown;
  } catch (e) {
    throw new OcboxError("USAGE", `the request body is not JSON: ${errorMessage(e)}`, {
      fix: "Send Content-Type: application/json with a TaskRequest object.",
    });
  }
}

/** Refuse what is not this user's local client; undefined when the request may go on. */
function gate(
  req: IncomingMessage,
  port: number,
  token: string,
): [number, ReturnType<typeof errorBody>] | undefined {
  const host = req.headers.host;
  if (host !== `127.0.0.1:${port}` && host !== `localhost:${port}`)
    return [421, errorBody("USAGE", "wrong host")];
  if (req.headers.origin !== undefined)
    return [403, errorBody("USAGE", "requests from a browser page are refused")];
  if (!bearerMatches(req.headers.authorization, token))
    return [
      401,
      errorBody(
        "USAGE",
        "missing or wrong bearer token",
        "Send `Authorization: Bearer <token>` with the token in $XDG_STATE_HOME/ocbox/serve/token.",
      ),
    ];
  const version = req.headers[VERSION_HEADER];
  if (typeof version === "string" && version !== OCBOX_VERSION)
    return [
      409,
      errorBody(
        "USAGE",
        `this ocbox serve is version ${OCBOX_VERSION}; the client is ${version}`,
        "Restart the service with the client's ocbox (`ocbox serve stop`, then `ocbox serve --detach`), or use --no-serve.",
      ),
    ];
  return undefined;
}

/**
 * The task's events as SSE. `attached` (POST /v1/tasks?attach=1, how `ocbox run` hands a task
 * over): a first `event: started` with the task, and a client that goes away before `end` (killed,
 * its connection lost) aborts the task, as a killed `ocbox run` would have ended it.
 */
function streamEvents(store: TaskStore, id: string, res: ServerResponse, attached = false): void {
  res.writeHead(200, {
    "content-type": "text/event-stream",
    "cache-control": "no-store",
    connection: "keep-alive",
  });
  if (attached) res.write(`event: started\ndata: ${JSON.stringify(store.get(id))}\n\n`);
  let ended = false;
  const send = (e: StoredEvent) => {
    if (e.type === "event") res.write(`event: task\ndata: ${JSON.stringify(e.event)}\n\n`);
    else {
      ended = true;
      res.end(`event: end\ndata: ${JSON.stringify(e.task)}\n\n`);
    }
  };
  const stop = store.follow(id, send);
  res.on("close", () => {
    stop();
    if (attached && !ended) void store.abort(id, "the attached client went away");
  });
}

async function taskRoute(
  api: ServiceApi,
  req: IncomingMessage,
  res: ServerResponse,
  reply: Reply,
  parts: string[],
) {
  const [id, action] = parts;
  if (id === undefined) return reply(404, errorBody("USAGE", "no such route"));
  const task = api.store.get(id);
  if (!task) return reply(404, errorBody("USAGE", `no task ${id}`, "GET /v1/tasks lists the tasks."));
  if (req.method === "GET" && action === undefined) return reply(200, task);
  if (req.method === "GET" && action === "result") return reply(200, await api.store.wait(id));
  if (req.method === "GET" && action === "events") return streamEvents(api.store, id, res);
  if (req.method === "POST" && action === "abort") return reply(200, await api.store.abort(id));
  return reply(405, errorBody("USAGE", `${req.method ?? ""} ${req.url ?? ""} is not a route`));
}

async function route(api: ServiceApi, req: IncomingMessage, res: ServerResponse, reply: Reply) {
  const path = new URL(req.url ?? "/", "http://127.0.0.1").pathname;
  const key = `${req.method ?? ""} ${path}`;
  if (key === "GET /openapi.json") return reply(200, openapiDocument());
  if (key === "GET /v1/status") return reply(200, api.status());
  if (key === "GET /v1/tasks") return reply(200, api.store.list());
  if (key === "POST /v1/tasks") {
    const id = await api.submit(await readJson(req));
    if (new URL(req.url ?? "/", "http://127.0.0.1").searchParams.get("attach") === "1")
      return streamEvents(api.store, id, res, true);
    return reply(202, api.store.get(id));
  }
  if (key === "POST /v1/shutdown") {
    reply(202, { stopping: true });
    return api.shutdown();
  }
  const parts = path.split("/").filter((p) => p !== "");
  if (parts[0] === "v1" && parts[1] === "tasks") return taskRoute(api, req, res, reply, parts.slice(2));
  return reply(404, errorBody("USAGE", `no route ${key}`, "GET /openapi.json lists the routes."));
}

export async function startServiceHttp(
  api: ServiceApi,
  options: { token: string; port?: number },
): Promise<ServiceHttp> {
  let port = 0;
  const http = createServer((req, res) => {
    const reply: Reply = (status, body) =>
      void res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    const refused = gate(req, port, options.token);
    if (refused) return reply(...refused);
    route(api, req, res, reply).catch((e: unknown) => {
      if (res.headersSent) return void res.end();
      if (isOcboxError(e)) reply(STATUS_FOR[e.code] ?? 500, { error: errorBodyOf(e) });
      else reply(500, errorBody("UNEXPECTED", errorMessage(e)));
    });
  });
  await new Promise<void>((resolve, reject) => {
    http.once("error", reject);
    http.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  const address = http.address();
  port = typeof address === "object" && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  };
}
