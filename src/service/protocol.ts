/**
 * What a client and `ocbox serve` agree on beyond the OpenAPI document, kept free of zod so that
 * `ocbox run`'s handoff loads none of the service: the version header, the error body, the
 * engine settings a task's sandbox depends on. Pure.
 */
import { OcboxError, type ErrorCode } from "../errors.js";

export const VERSION_HEADER = "x-ocbox-version";

/** An error as the service sends it (JSON body `{error}`, a task's `error`). */
export interface ErrorBody {
  code: string;
  message: string;
  fix: string | null;
  detail?: string | null;
}

export function errorBodyOf(e: OcboxError): ErrorBody {
  return { code: e.code, message: e.message, fix: e.fix ?? null, ...(e.detail ? { detail: e.detail } : {}) };
}

const CODES: readonly ErrorCode[] = [
  "USAGE",
  "CONFIG",
  "ENGINE_UNAVAILABLE",
  "ENGINE",
  "IMAGE_BUILD",
  "IMAGE_MISSING",
  "BOOTSTRAP",
  "SANDBOX_START",
  "SANDBOX_NOT_READY",
  "OPENCODE",
  "OWNERSHIP",
  "WORKSPACE_IN_USE",
  "INTERRUPTED",
  "CHECK_FAILED",
  "UNEXPECTED",
];

/** The service's error as the one this process would have thrown: same code, message, detail, fix. */
export function errorFromBody(body: ErrorBody, prefix = ""): OcboxError {
  const code = CODES.find((c) => c === body.code) ?? "UNEXPECTED";
  return new OcboxError(code, `${prefix}${body.message}`, {
    ...(body.fix ? { fix: body.fix } : {}),
    ...(body.detail ? { detail: body.detail } : {}),
  });
}

/**
 * The environment variables that choose the engine and how a sandbox's server is reached: a task
 * handed over runs on the service's engine, so `ocbox run` hands over only when they are the same.
 */
export const ENGINE_ENV = ["DOCKER_HOST", "DOCKER_CONTEXT", "OCBOX_SERVER_TRANSPORT"] as const;

export function engineSettings(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of ENGINE_ENV) {
    const v = env[name]?.trim();
    if (v) out[name] = v;
  }
  return out;
}
