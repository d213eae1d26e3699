/**
 * Failure classification (FEATURES E6): turns what a failed run left behind (an OpenCode error
 * object, a `session.status{type: "retry"}` message, a server log line, stderr, an HTTP status) into
 * a kind, whether it is fatal, and a hint an operator can act on.
 *
 * | kind       | fatal | failure reason   | what the executor does                           |
 * |------------|-------|------------------|--------------------------------------------------|
 * | NETWORK    | yes   | INFRASTRUCTURE   | stops at once, no retry: re-prompting cannot fix |
 * | AUTH       | yes   | INFRASTRUCTURE   | the endpoint, the key, the config or the path    |
 * | CONFIG     | yes   | INFRASTRUCTURE   |                                                  |
 * | PATH       | yes   | INFRASTRUCTURE   |                                                  |
 * | MODEL      | no    | MODEL            | retries: a model may still be loading            |
 * | RATE_LIMIT | no    | RATE_LIMIT       | backs off ({@link backoffMs}), then retries      |
 *
 * Because fatal kinds are known from the first `retry` status, the executor need not wait out
 * OpenCode's own ~90 s of provider retries. Feed the classifier error text, not whole logs: an
 * agent's harmless `No such file or directory` from a tool would otherwise read as a PATH failure.
 *
 * When several signatures appear, the order of {@link SIGNATURES} decides (config, auth, model,
 * network, path, rate limit): the more specific cause wins. The text is redacted before matching,
 * so neither `matched` nor `hint` ever carries a key, token or password.
 */
import { compilePattern } from "../plan/rate-limit-pattern.js";

export { compilePattern };
import type { AnsweredAsk, PermissionPolicy } from "./permission-policy.js";

/**
 * Why a task failed. Besides the classes above: TIMEOUT and INACTIVITY (the timers), MALFORMED_OUTPUT
 * (no valid contract), and OUTPUT_TOO_LARGE: the agent's work came back to the host without the
 * files over `limits.copyBack` (sync-back.ts), which the result lists. PERMISSION: OpenCode asked
 * for a permission that the unattended policy rejected (and the agent stopped), or that ocbox could
 * not answer ({@link permissionHint}).
 */
export type FailureReason =
  | "INFRASTRUCTURE"
  | "TIMEOUT"
  | "INACTIVITY"
  | "MALFORMED_OUTPUT"
  | "RATE_LIMIT"
  | "MODEL"
  | "OUTPUT_TOO_LARGE"
  | "PERMISSION";

/** SANDBOX: the agent's sandbox ended under the task (its memory limit, the gVisor PID backstop). */
export type HintKind = "NETWORK" | "AUTH" | "CONFIG" | "PATH" | "MODEL" | "RATE_LIMIT" | "SANDBOX";

export interface FailureHint {
  kind: HintKind;
  /** True for NETWORK, AUTH, CONFIG and PATH: retrying cannot help. */
  fatal: boolean;
  reason: FailureReason;
  /** What the operator should do, in words. */
  hint: string;
  /** The (redacted) line that matched, for logs. */
  matched: string;
  /** For RATE_LIMIT, when the text says how long to wait (`retry-after`, "try again in 20s"). */
  retryAfterMs?: number;
}

export interface ClassifyOptions {
  /**
   * Extra rate-limit signatures from configuration: a plain string matches as a case-insensitive
   * substring, `/source/flags` and RegExp values as regular expressions.
   */
  rateLimitPatterns?: readonly (string | RegExp)[];
}

const FATAL: Record<HintKind, boolean> = {
  NETWORK: true,
  AUTH: true,
  CONFIG: true,
  PATH: true,
  MODEL: false,
  RATE_LIMIT: false,
  SANDBOX: true,
};

/** The failure reason a run gets for a hint of this kind. */
export function failureReasonFor(kind: HintKind): FailureReason {
  switch (kind) {
    case "NETWORK":
    case "AUTH":
    case "CONFIG":
    case "PATH":
    case "SANDBOX":
      return "INFRASTRUCTURE";
    case "MODEL":
      return "MODEL";
    case "RATE_LIMIT":
      return "RATE_LIMIT";
  }
}

interface Signature {
  kind: HintKind;
  pattern: RegExp;
  hint: (match: RegExpExecArray) => string;
}

/** An HTTP status in the forms errors and logs write it: `statusCode: 401`, `HTTP/1.1 401`, `"code":401`. */
function status(codes: string): RegExp {
  const prefix = /\b(?:status(?:[ _-]?code)?|http(?:\/[\d.]+)?|code|error)\b["']?\s*[:=]?\s*["']?/.source;
  return new RegExp(`${prefix}(?:${codes})\\b`, "i");
}

/** One case-insensitive pattern matching any of the parts. */
function anyOf(...parts: RegExp[]): RegExp {
  return new RegExp(parts.map((part) => part.source).join("|"), "i");
}

const ENDPOINT = "the provider's baseURL in opencode.json (or the --model / role config)";

const SIGNATURES: readonly Signature[] = [
  // CONFIG: OpenCode cannot load its configuration.
  {
    kind: "CONFIG",
    pattern: /Config file at (\S+) is not valid JSONC?/i,
    hint: (m) => `OpenCode's config file ${m[1] ?? ""} is not valid JSON(C). Fix its syntax and run again.`,
  },
  {
    kind: "CONFIG",
    pattern: /Configuration is invalid(?: at (\S+))?/i,
    hint: (m) =>
      `OpenCode's config${m[1] ? ` at ${m[1]}` : ""} does not match its schema; the "↳" lines say which key. ` +
      "Fix that key and run again.",
  },
  {
    kind: "CONFIG",
    pattern: anyOf(
      /\b(?:ConfigInvalidError|ConfigJsonError|ProviderInitError)\b/,
      /\b(?:failed to (?:parse|load)|invalid|malformed) config(?:uration)?\b/,
    ),
    hint: () =>
      "OpenCode could not load its configuration or initialise the provider. Check opencode.json and ocbox.yaml.",
  },
  // AUTH: the endpoint rejects the credentials, or there are none.
  {
    kind: "AUTH",
    pattern: anyOf(
      /\bProviderAuthError\b/,
      /\bLoadAPIKeyError\b/,
      /\bAPI key is missing\b/,
      /\bmissing (?:an )?API key\b/,
      /\bno API key\b/,
    ),
    hint: () =>
      "No usable API key for the provider. Set it in the provider's options (apiKey; {env:VAR} works) or in " +
      "OpenCode's auth.json, and make sure the variable is passed into the sandbox.",
  },
  {
    kind: "AUTH",
    pattern: anyOf(
      status("401|403"),
      /\b(?:401|403)\s+(?:Unauthorized|Forbidden)\b/,
      /\bUnauthorized\b/,
      /\b(?:invalid|incorrect|wrong|expired|revoked)[ _-]?(?:api[ _-]?key|x-api-key|token|credentials?)\b/,
      /\bauthentication[ _-](?:error|failed)\b/,
    ),
    hint: () =>
      "The model endpoint rejected the credentials (401/403). Check the provider's API key and that it may use " +
      "this model; a local server that checks no key still needs a non-empty dummy key.",
  },
  // MODEL: retried, since a model may still be loading on a slow server.
  {
    kind: "MODEL",
    pattern: anyOf(
      /\bProviderModelNotFoundError\b(?:[^\n]*?Model not found:\s*(\S+))?/,
      /\bModel not found:\s*(\S+)/,
    ),
    hint: (m) =>
      `OpenCode does not know the model ${m[1] ?? m[2] ?? ""}. Use provider/model as declared under "provider" ` +
      "in opencode.json, or add the model there.",
  },
  {
    kind: "MODEL",
    pattern: anyOf(
      /\bThe model [`'"]?([^`'"\s]+)[`'"]? does not exist\b/,
      /\bmodel_not_found\b/,
      /\b(?:unknown|no such) model\b/,
    ),
    hint: (m) =>
      `The model server does not serve the model${m[1] ? ` ${m[1]}` : ""}. Check the model id against what the ` +
      "server lists (GET /v1/models), or load it there.",
  },
  {
    kind: "MODEL",
    pattern: anyOf(/\bLoading model\b/, /\bmodel (?:is )?(?:still )?loading\b/),
    hint: () =>
      "The model server is still loading the model. The run is retried; if it persists, check the server's log.",
  },
  {
    kind: "MODEL",
    pattern: anyOf(
      /\bContextOverflowError\b/,
      /\bcontext[ _]length[ _]exceeded\b/,
      /\bmaximum context length\b/,
      /\bexceeds? the (?:available )?context size\b/,
    ),
    hint: () =>
      "The conversation no longer fits the model's context window. Shorten the prompt, or raise the server's " +
      "context size and the model's limit.context in opencode.json to match.",
  },
  // NETWORK: the endpoint cannot be reached.
  {
    kind: "NETWORK",
    pattern: anyOf(
      /Cannot connect to API: Was there a typo in the url or port\?/,
      /\b(?:ENOTFOUND|EAI_AGAIN)\b(?: ([\w.-]+))?/,
      /\bCould not resolve host:? ?([\w.-]+)?/,
    ),
    hint: (m) =>
      `The model endpoint's host name${hostOf(m)} does not resolve. Fix the host in ${ENDPOINT}; ` +
      "the name must resolve from inside the sandbox.",
  },
  {
    kind: "NETWORK",
    pattern: anyOf(/Cannot connect to API: Unable to connect/, /\bECONNREFUSED\b(?: ([\w.:[\]-]+))?/),
    hint: (m) =>
      `Nothing accepts connections at the model endpoint${hostOf(m)}. Start the model server, or fix the host ` +
      `and port in ${ENDPOINT}.`,
  },
  {
    kind: "NETWORK",
    pattern: anyOf(
      /\b(?:EHOSTUNREACH|ENETUNREACH|ETIMEDOUT|UND_ERR_CONNECT_TIMEOUT)\b/,
      /Cannot connect to API/,
      /\bfetch failed\b/,
      /\bUnable to connect\b/,
    ),
    hint: () =>
      `The model endpoint cannot be reached from the sandbox. Check that the server is up and that ${ENDPOINT} ` +
      "points at it.",
  },
  {
    kind: "NETWORK",
    pattern: /\bnetwork [`'"]?([\w.-]+)[`'"]? not found\b/i,
    hint: (m) =>
      `The Docker network ${m[1] ?? ""} does not exist. Create it, or start the project that owns it.`,
  },
  {
    kind: "NETWORK",
    pattern: anyOf(
      /\bself[- ]signed certificate\b/,
      /\bunable to (?:verify|get local issuer)/,
      /\bUNABLE_TO_VERIFY_LEAF_SIGNATURE\b/,
      /\bcertificate has expired\b/,
    ),
    hint: () =>
      "TLS verification of the model endpoint failed. If a proxy intercepts TLS, give ocbox its CA bundle " +
      "(OCBOX_HOST_CA or NODE_EXTRA_CA_CERTS); otherwise fix the server's certificate.",
  },
  // PATH: a directory or file that is not there, or a URL path the server does not serve.
  {
    kind: "PATH",
    pattern: /Failed to change directory to (\S+)/i,
    hint: (m) =>
      `OpenCode cannot enter the directory ${m[1] ?? ""}. Check that the --workspace path exists and is mounted ` +
      "in the sandbox.",
  },
  {
    kind: "PATH",
    pattern: /\bENOENT\b[^\n]*?(?:'([^'\n]+)')?$|\bNo such file or directory\b/im,
    hint: (m) =>
      `A file or directory is missing${m[1] ? `: ${m[1]}` : ""}. Check the paths in the task and config ` +
      "(prompt file, system prompt file, workspace).",
  },
  {
    kind: "PATH",
    pattern: anyOf(status("404"), /\b404\b[^\n]*\bNot Found\b/, /\bFile Not Found\b/),
    hint: () =>
      "The model endpoint answered 404: the URL path is wrong. The baseURL of an OpenAI-compatible provider is " +
      `the prefix before /chat/completions, usually ending in /v1; check ${ENDPOINT}.`,
  },
  // RATE_LIMIT: the server is busy; back off and retry.
  {
    kind: "RATE_LIMIT",
    pattern: anyOf(
      status("429|529"),
      /\bToo Many Requests\b/,
      /\brate[ _-]?limit/,
      /quota/,
      /\bRESOURCE_EXHAUSTED\b/,
      /\bthrottl(?:ed|ing)\b/,
    ),
    hint: () =>
      "The model endpoint is rate limiting. The run backs off and retries; if it keeps happening, lower the " +
      "pool's maxConcurrent or raise the quota.",
  },
  {
    kind: "RATE_LIMIT",
    pattern: anyOf(
      status("502|503|504"),
      /\bBad Gateway\b/,
      /\bService Unavailable\b/,
      /\bGateway Time-?out\b/,
      /\boverloaded\b/,
      /\bserver (?:is )?busy\b/,
    ),
    hint: () =>
      "The model endpoint (or a proxy in front of it) is overloaded or restarting. The run backs off and " +
      "retries; if it persists, check the model server behind the proxy.",
  },
];

function hostOf(m: RegExpExecArray): string {
  const host = m[1] ?? m[2];
  return host ? ` (${host})` : "";
}

/**
 * Classifies a failure. Returns undefined when nothing matches (the caller treats the failure as it
 * would any other: retry or report). See the module comment for kinds and their order.
 */
export function classifyFailure(input: unknown, options: ClassifyOptions = {}): FailureHint | undefined {
  const text = redactSecrets(failureText(input));
  if (text.trim() === "") return undefined;
  const extra = (options.rateLimitPatterns ?? []).map((p) => compilePattern(p, { lenient: true }));
  const signatures: Signature[] = [
    ...SIGNATURES,
    ...extra.map((pattern) => ({ kind: "RATE_LIMIT" as const, pattern, hint: configuredHint })),
  ];
  for (const signature of signatures) {
    const match = signature.pattern.exec(text);
    if (!match) continue;
    const kind = signature.kind;
    const hint: FailureHint = {
      kind,
      fatal: FATAL[kind],
      reason: failureReasonFor(kind),
      hint: redactSecrets(signature.hint(match)),
      matched: matchedExcerpt(text, match.index, match[0].length),
    };
    if (kind === "RATE_LIMIT") {
      const wait = retryAfterMs(text);
      if (wait !== undefined) hint.retryAfterMs = wait;
    }
    return hint;
  }
  return undefined;
}

const configuredHint = (): string =>
  "The model endpoint is rate limiting (a configured rate-limit pattern matched). The run backs off and retries.";

/** The line that matched, with any `↳` detail lines that follow it, shortened to a readable size. */
function matchedExcerpt(text: string, index: number, length: number): string {
  const lineStart = text.lastIndexOf("\n", index - 1) + 1;
  let lineEnd = text.indexOf("\n", index + length);
  if (lineEnd < 0) lineEnd = text.length;
  for (let details = 0; details < 3; details++) {
    const next = text.indexOf("\n", lineEnd + 1);
    const nextLine = text.slice(lineEnd + 1, next < 0 ? text.length : next);
    if (lineEnd >= text.length || !nextLine.trimStart().startsWith("↳")) break;
    lineEnd = next < 0 ? text.length : next;
  }
  const excerpt = text.slice(lineStart, lineEnd).trim();
  const max = 400;
  if (excerpt.length <= max) return excerpt;
  const offset = Math.max(0, Math.min(index - lineStart - max / 4, excerpt.length - max));
  return `${offset > 0 ? "…" : ""}${excerpt.slice(offset, offset + max)}…`;
}

/** A wait the text asks for: `retry-after: 12`, `retry-after-ms: 500`, "try again in 20s". */
export function retryAfterMs(text: string): number | undefined {
  const header = /\bretry-after(-ms)?["']?\s*[:=]\s*["']?(\d+(?:\.\d+)?)/i.exec(text);
  if (header?.[2] !== undefined) return Math.round(Number(header[2]) * (header[1] ? 1 : 1000));
  const prose =
    /\b(?:try again|retry) in (\d+(?:\.\d+)?)\s*(ms|milliseconds?|s|secs?|seconds?|m|mins?|minutes?)\b/i.exec(
      text,
    );
  if (prose?.[1] === undefined) return undefined;
  const unit = (prose[2] ?? "s").toLowerCase();
  const factor = unit.startsWith("ms") || unit.startsWith("milli") ? 1 : unit.startsWith("m") ? 60_000 : 1000;
  return Math.round(Number(prose[1]) * factor);
}

/**
 * Flattens what a failure left behind into text: strings as they are, a number as an HTTP status,
 * errors with their name, message, code and cause, and objects (OpenCode's `{name, data: {message,
 * statusCode, responseBody}}`, a `session.status` retry) as `path: value` lines.
 */
export function failureText(input: unknown): string {
  const lines: string[] = [];
  const seen = new WeakSet<object>();
  const walk = (value: unknown, path: string, depth: number): void => {
    if (value === null || value === undefined) return;
    if (typeof value === "string") {
      lines.push(path ? `${path}: ${value}` : value);
    } else if (typeof value === "number") {
      lines.push(path ? `${path}: ${value}` : `HTTP status ${value}`);
    } else if (typeof value === "boolean" || typeof value === "bigint") {
      if (path) lines.push(`${path}: ${String(value)}`);
    } else if (typeof value === "object" && depth < 5 && !seen.has(value)) {
      seen.add(value);
      if (Array.isArray(value)) {
        value.forEach((item, i) => walk(item, path ? `${path}[${i}]` : "", depth + 1));
        return;
      }
      if (value instanceof Error) lines.push(`${value.name}: ${value.message}`);
      for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
        const itemPath = path ? `${path}.${key}` : key;
        // Response headers carry noise such as x-ratelimit-remaining; only the wait they ask for matters.
        if (/headers$/i.test(key) && typeof item === "object" && item !== null) {
          for (const [header, headerValue] of Object.entries(item as Record<string, unknown>)) {
            if (/^retry-after/i.test(header)) walk(headerValue, `${itemPath}.${header}`, depth + 1);
          }
        } else {
          walk(item, itemPath, depth + 1);
        }
      }
      if (value instanceof Error) {
        const { cause, errors } = value as Error & { errors?: unknown };
        walk(cause, path ? `${path}.cause` : "cause", depth + 1);
        if (Array.isArray(errors)) walk(errors, path ? `${path}.errors` : "errors", depth + 1);
      }
    }
  };
  walk(input, "", 0);
  return lines.join("\n");
}

const REDACTED = "[REDACTED]";

type Replacement = string | ((match: string, ...groups: string[]) => string);

const REDACTIONS: readonly [RegExp, Replacement][] = [
  // Header values: `Authorization: Bearer xyz` keeps the scheme, loses the credential.
  [
    /\b((?:proxy-)?authorization["']?\s*[:=]\s*["']?)(?:(bearer|basic|token)\s+)?(?!\[REDACTED\])[^\s"',;]+/gi,
    (_match, prefix = "", scheme) => `${prefix}${scheme ? `${scheme} ` : ""}${REDACTED}`,
  ],
  [/\b(Bearer|Basic)\s+[\w.~+/=-]{8,}/g, `$1 ${REDACTED}`],
  // Credentials inside URLs.
  [/(\b[a-z][a-z0-9+.-]*:\/\/)[^\s/@:]+:[^\s/@]+@/gi, `$1${REDACTED}@`],
  [
    /([?&](?:key|api[_-]?key|token|auth[_-]?token|access[_-]?token|sig|signature|password)=)[^&\s"']+/gi,
    `$1${REDACTED}`,
  ],
  // `key=value`, `key: value` and `"key": "value"` for secret-looking keys.
  [
    /\b((?:[\w-]*?(?:api[_-]?key|secret|passw(?:or)?d|access[_-]?token|auth[_-]?token|refresh[_-]?token|session[_-]?token)[\w-]*)|api key|token|cookie)(["']?\s*[:=]\s*["']?)(?!\[REDACTED\])[^\s"'&,;}]+/gi,
    `$1$2${REDACTED}`,
  ],
  // Well-known key shapes wherever they appear.
  [/\b(sk|pk|rk)-[\w*-]{6,}/g, `$1-${REDACTED}`],
  [
    /\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_\w{20,}|xox[abprs]-[\w-]{10,}|AIza[\w-]{30,}|hf_[A-Za-z0-9]{20,}|AKIA[0-9A-Z]{16})\b/g,
    REDACTED,
  ],
  [/\beyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]{4,}/g, REDACTED],
];

/** Replaces anything that looks like a credential (bearer tokens, API keys, passwords in URLs) with [REDACTED]. */
export function redactSecrets(text: string): string {
  let out = text;
  for (const [pattern, replacement] of REDACTIONS) {
    out =
      typeof replacement === "string" ? out.replace(pattern, replacement) : out.replace(pattern, replacement);
  }
  return out;
}

export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
}

/**
 * Exponential backoff with full jitter: a uniform wait in [0, min(maxMs, baseMs · 2^(attempt-1))).
 * `attempt` counts retries from 1. `random` returns a number in [0, 1), as Math.random does.
 */
export function backoffMs(
  attempt: number,
  policy: BackoffPolicy,
  random: () => number = Math.random,
): number {
  const n = Number.isFinite(attempt) ? Math.max(1, Math.floor(attempt)) : 1;
  const ceiling = Math.max(0, Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(n - 1, 1000)));
  const r = Math.min(Math.max(random(), 0), 1 - Number.EPSILON);
  return Math.floor(r * ceiling);
}

function describeAsk(a: AnsweredAsk): string {
  const where = a.configLine
    ? `${a.configLine.file}:${a.configLine.line} (${a.configLine.text})`
    : "OpenCode's default rules";
  return `${a.permission} ${a.patterns.join(" ")}`.trim() + ` (asked by ${where})`;
}

/** The hint of a task that ended on a permission ask: which ask, which line, what to change. */
export function permissionHint(asks: readonly AnsweredAsk[], policy: PermissionPolicy): string {
  const unanswered = asks.find((a) => a.answer === "unanswered");
  if (unanswered)
    return (
      `OpenCode asked for ${describeAsk(unanswered)} and ocbox could not answer (${unanswered.error ?? "no reply"}); ` +
      "the task was stopped instead of waiting for the inactivity timer. Check the sandbox's OpenCode server."
    );
  const rejected = asks.filter((a) => a.answer === "reject");
  const first = rejected[0];
  if (!first) return `the permission policy ${policy} ended the task`;
  return (
    `OpenCode asked for ${describeAsk(first)}${rejected.length > 1 ? ` and ${rejected.length - 1} more` : ""}; ` +
    `the unattended policy "${policy}" rejected it and the agent stopped. Allow it in that file, ` +
    'or run with --permissions autonomous (runTask: permissions: "autonomous").'
  );
}
