/**
 * A client of this user's `ocbox serve` (`ocbox serve status|stop`, and programs in TypeScript):
 * found through service.json and the token in the state dir; every request carries the bearer
 * token and this ocbox's version, so a service of another version refuses it with a clear message.
 */
import { readFile } from "node:fs/promises";
import { OcboxError, errorMessage } from "../errors.js";
import { jsonBody, serviceRequest } from "./http-client.js";
import { errorFromBody, type ErrorBody } from "./protocol.js";
import { readServiceInfo, serviceFiles, type ServiceFiles, type ServiceInfo } from "./service-files.js";

export interface ServiceClient {
  info: ServiceInfo;
  token: string;
  /** A JSON request; a non-2xx answer throws the service's error (code, message, fix). */
  call<T>(method: "GET" | "POST", path: string, body?: unknown): Promise<T>;
}

/** The running service of this user, or undefined when none is up. */
export async function connectService(
  files: ServiceFiles = serviceFiles(),
): Promise<ServiceClient | undefined> {
  const info = await readServiceInfo(files);
  if (!info) return undefined;
  const token = (await readFile(files.token, "utf8")).trim();
  const call = async <T>(method: "GET" | "POST", path: string, body?: unknown) => {
    const res = await serviceRequest({ url: info.url, token }, method, path, body).catch((e: unknown) => {
      throw new OcboxError(
        "ENGINE_UNAVAILABLE",
        `ocbox serve at ${info.url} does not answer: ${errorMessage(e)}`,
        {
          fix: "Check `ocbox serve status`; restart it, or run without it (--no-serve).",
        },
      );
    });
    const answer = await jsonBody<T & { error?: ErrorBody }>(res);
    const status = res.statusCode ?? 500;
    if ((status < 200 || status > 299) && answer.error) throw errorFromBody(answer.error, "ocbox serve: ");
    return answer;
  };
  return { info, token, call };
}

/** `ocbox serve status`: the service's status, or undefined when none is running. */
export async function serviceStatus(
  files: ServiceFiles = serviceFiles(),
): Promise<Record<string, unknown> | undefined> {
  const client = await connectService(files);
  if (!client) return undefined;
  return { url: client.info.url, ...(await client.call<Record<string, unknown>>("GET", "/v1/status")) };
}

/** `ocbox serve stop`: ask the service to stop and wait until its process is gone (its containers removed). */
export async function stopService(
  files: ServiceFiles = serviceFiles(),
  timeoutMs = 120_000,
): Promise<{ stopped: boolean; pid: number | null }> {
  const client = await connectService(files);
  if (!client) return { stopped: false, pid: null };
  await client.call("POST", "/v1/shutdown");
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!alive(client.info.pid)) return { stopped: true, pid: client.info.pid };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new OcboxError(
    "UNEXPECTED",
    `ocbox serve (pid ${client.info.pid}) did not stop within ${timeoutMs / 1000} s`,
    {
      fix: `Send it SIGTERM (kill ${client.info.pid}); the next ocbox command reaps what it leaves.`,
    },
  );
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** `ocbox serve logs`: the service log's last `lines` lines. */
export async function serviceLog(files: ServiceFiles = serviceFiles(), lines = 200): Promise<string> {
  const text = await readFile(files.log, "utf8").catch((e: NodeJS.ErrnoException) => {
    if (e.code === "ENOENT") return "";
    throw e;
  });
  return text
    .split("\n")
    .slice(-lines - 1)
    .join("\n");
}
