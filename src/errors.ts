/**
 * Typed errors. Library code throws these; only the CLI entry point turns them into output and an
 * exit code. Every error says what went wrong and, where there is one, the fix.
 */

export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
  engine: 3,
  image: 4,
  sandbox: 5,
  interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export type ErrorCode =
  | "USAGE"
  | "CONFIG"
  | "ENGINE_UNAVAILABLE"
  | "ENGINE"
  | "IMAGE_BUILD"
  | "IMAGE_MISSING"
  | "BOOTSTRAP"
  | "SANDBOX_START"
  | "SANDBOX_NOT_READY"
  | "OPENCODE"
  | "OWNERSHIP"
  | "WORKSPACE_IN_USE"
  | "INTERRUPTED"
  | "CHECK_FAILED"
  | "UNEXPECTED";

const exitFor: Record<ErrorCode, ExitCode> = {
  USAGE: ExitCode.usage,
  CONFIG: ExitCode.usage,
  ENGINE_UNAVAILABLE: ExitCode.engine,
  ENGINE: ExitCode.engine,
  IMAGE_BUILD: ExitCode.image,
  IMAGE_MISSING: ExitCode.image,
  BOOTSTRAP: ExitCode.image,
  SANDBOX_START: ExitCode.sandbox,
  SANDBOX_NOT_READY: ExitCode.sandbox,
  OPENCODE: ExitCode.sandbox,
  OWNERSHIP: ExitCode.sandbox,
  WORKSPACE_IN_USE: ExitCode.sandbox,
  INTERRUPTED: ExitCode.interrupted,
  CHECK_FAILED: ExitCode.failure,
  UNEXPECTED: ExitCode.failure,
};

export interface OcboxErrorOptions {
  /** What the user can do about it, in words. */
  fix?: string;
  /** Supporting text: the tail of a log, the failing build step. */
  detail?: string;
  cause?: unknown;
}

export class OcboxError extends Error {
  override readonly name = "OcboxError";
  readonly fix: string | undefined;
  readonly detail: string | undefined;

  constructor(
    readonly code: ErrorCode,
    message: string,
    options: OcboxErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.fix = options.fix;
    this.detail = options.detail;
  }

  get exitCode(): ExitCode {
    return exitFor[this.code];
  }

  toJSON(): { code: ErrorCode; message: string; fix?: string; detail?: string } {
    return {
      code: this.code,
      message: this.message,
      ...(this.fix === undefined ? {} : { fix: this.fix }),
      ...(this.detail === undefined ? {} : { detail: this.detail }),
    };
  }
}

export function isOcboxError(e: unknown): e is OcboxError {
  return e instanceof OcboxError;
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** The last `lines` lines of a text, for error details. */
export function tail(text: string, lines = 20): string {
  const all = text.replace(/\s+$/, "").split("\n");
  return all.slice(-lines).join("\n");
}
