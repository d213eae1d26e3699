import { describe, expect, it } from "vitest";
import {
  backoffMs,
  classifyFailure,
  compilePattern,
  failureReasonFor,
  failureText,
  redactSecrets,
  retryAfterMs,
} from "../../src/executor/hints.js";

/** OpenCode's APIError as it arrives in session.error / the assistant message's error. */
const apiError = (statusCode: number, message: string, extra: Record<string, unknown> = {}) => ({
  name: "APIError",
  data: { message, statusCode, isRetryable: statusCode === 429 || statusCode >= 500, ...extra },
});

describe("classifyFailure on the signatures in OPENCODE-NOTES", () => {
  it("401/403 APIError is AUTH, fatal, INFRASTRUCTURE", () => {
    const hint = classifyFailure(apiError(401, "Incorrect API key provided: sk-proj-abcdefghijklmnop1234"));
    expect(hint).toMatchObject({ kind: "AUTH", fatal: true, reason: "INFRASTRUCTURE" });
    expect(hint?.hint).toMatch(/API key/);
    expect(classifyFailure(apiError(403, "Forbidden"))).toMatchObject({ kind: "AUTH", fatal: true });
    expect(
      classifyFailure({ name: "ProviderAuthError", data: { providerID: "openai", message: "no key" } })?.kind,
    ).toBe("AUTH");
  });

  it("unknown model at the server (404) is MODEL, not PATH, and retried", () => {
    const hint = classifyFailure(apiError(404, "The model `qwen-9000` does not exist"));
    expect(hint).toMatchObject({ kind: "MODEL", fatal: false, reason: "MODEL" });
    expect(hint?.hint).toContain("qwen-9000");
  });

  it("model not in config shows in the server log as ProviderModelNotFoundError", () => {
    const line =
      "ERROR 2025-01-01T00:00:00 +2ms service=session error=ProviderModelNotFoundError: Model not found: local/qwen";
    const hint = classifyFailure(line);
    expect(hint).toMatchObject({ kind: "MODEL", fatal: false });
    expect(hint?.hint).toContain("local/qwen");
    expect(hint?.matched).toBe(line);
    // The UnknownError alone carries no cause: nothing to classify.
    expect(
      classifyFailure({ name: "UnknownError", data: { message: "Unexpected server error" } }),
    ).toBeUndefined();
  });

  it("429 and 502 APIErrors are RATE_LIMIT: backed off, not fatal", () => {
    expect(classifyFailure(apiError(429, "Too Many Requests"))).toMatchObject({
      kind: "RATE_LIMIT",
      fatal: false,
      reason: "RATE_LIMIT",
    });
    expect(classifyFailure(apiError(502, "Bad Gateway"))).toMatchObject({ kind: "RATE_LIMIT", fatal: false });
    expect(classifyFailure(apiError(503, "upstream error"))?.kind).toBe("RATE_LIMIT");
  });

  it("a refused connection is NETWORK, from the error or from the first retry status", () => {
    const message = "Cannot connect to API: Unable to connect. Is the computer able to access the url?";
    expect(classifyFailure(message)).toMatchObject({
      kind: "NETWORK",
      fatal: true,
      reason: "INFRASTRUCTURE",
    });
    const retry = { type: "retry", attempt: 1, message, next: 1_700_000_000_000 };
    const hint = classifyFailure(retry);
    expect(hint?.kind).toBe("NETWORK");
    expect(hint?.hint).toMatch(/Start the model server/);
  });

  it("a DNS failure is NETWORK with a resolution hint", () => {
    const hint = classifyFailure("Cannot connect to API: Was there a typo in the url or port?");
    expect(hint).toMatchObject({ kind: "NETWORK", fatal: true });
    expect(hint?.hint).toMatch(/does not resolve/);
  });

  it("config that is not valid JSON, or fails the schema, is CONFIG", () => {
    const json = classifyFailure("Config file at /workspace/opencode.json is not valid JSON(C)");
    expect(json).toMatchObject({ kind: "CONFIG", fatal: true, reason: "INFRASTRUCTURE" });
    expect(json?.hint).toContain("/workspace/opencode.json");
    const schema = classifyFailure(
      "Error: Configuration is invalid at /workspace/opencode.json\n↳ Expected object, received string provider\nnext line",
    );
    expect(schema?.kind).toBe("CONFIG");
    expect(schema?.matched).toBe(
      "Error: Configuration is invalid at /workspace/opencode.json\n↳ Expected object, received string provider",
    );
  });

  it("a bad directory is PATH", () => {
    const hint = classifyFailure("Failed to change directory to /workspace/nope");
    expect(hint).toMatchObject({ kind: "PATH", fatal: true, reason: "INFRASTRUCTURE" });
    expect(hint?.hint).toContain("/workspace/nope");
  });
});

describe("classifyFailure, other signatures", () => {
  it.each([
    ["connect ECONNREFUSED 127.0.0.1:8080", "NETWORK"],
    ["getaddrinfo ENOTFOUND llama-server", "NETWORK"],
    ["getaddrinfo EAI_AGAIN api.example.com", "NETWORK"],
    ["TypeError: fetch failed", "NETWORK"],
    ["connect EHOSTUNREACH 10.0.0.9:443", "NETWORK"],
    ["Error: self-signed certificate in certificate chain", "NETWORK"],
    ["network llm-net not found", "NETWORK"],
    ["HTTP/1.1 401 Unauthorized", "AUTH"],
    [
      '{"error":{"message":"Invalid API key","type":"invalid_request_error","code":"invalid_api_key"}}',
      "AUTH",
    ],
    ["authentication_error: invalid x-api-key", "AUTH"],
    ["AI_LoadAPIKeyError: OpenAI API key is missing. Pass it using the 'apiKey' parameter", "AUTH"],
    ["ProviderModelNotFoundError", "MODEL"],
    ['{"error":{"code":"model_not_found","message":"no"}}', "MODEL"],
    ['{"error":{"code":503,"message":"Loading model","type":"unavailable_error"}}', "MODEL"],
    ["the request exceeds the available context size, try increasing it", "MODEL"],
    ["ContextOverflowError: prompt too long", "MODEL"],
    ["ENOENT: no such file or directory, open '/workspace/prompts/x.md'", "PATH"],
    ["bash: /opt/tool: No such file or directory", "PATH"],
    ['{"error":{"code":404,"message":"File Not Found","type":"not_found_error"}}', "PATH"],
    ["Request failed with status code 404", "PATH"],
    ["Rate limit reached for gpt-4o in organization org-x on tokens per min", "RATE_LIMIT"],
    ["You exceeded your current quota (insufficient_quota)", "RATE_LIMIT"],
    ["status: 429", "RATE_LIMIT"],
    ['{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}', "RATE_LIMIT"],
    ["503 Service Unavailable", "RATE_LIMIT"],
    ["504 Gateway Time-out", "RATE_LIMIT"],
    ["RESOURCE_EXHAUSTED: try later", "RATE_LIMIT"],
  ] as const)("%s → %s", (text, kind) => {
    const hint = classifyFailure(text);
    expect(hint?.kind).toBe(kind);
    expect(hint?.fatal).toBe(["NETWORK", "AUTH", "CONFIG", "PATH"].includes(kind));
    expect(hint?.hint.length).toBeGreaterThan(20);
  });

  it("does not classify unrelated text or stray numbers", () => {
    expect(classifyFailure("")).toBeUndefined();
    expect(classifyFailure(undefined)).toBeUndefined();
    expect(classifyFailure("the agent edited line 401 of main.ts and line 429 of util.ts")).toBeUndefined();
    expect(classifyFailure("MessageAbortedError: aborted")).toBeUndefined();
    expect(classifyFailure("Everything went fine")).toBeUndefined();
  });

  it("takes a bare number as an HTTP status", () => {
    expect(classifyFailure(401)?.kind).toBe("AUTH");
    expect(classifyFailure(429)?.kind).toBe("RATE_LIMIT");
    expect(classifyFailure(404)?.kind).toBe("PATH");
    expect(classifyFailure(200)).toBeUndefined();
  });

  it("prefers the more specific cause when several appear", () => {
    const log = ["retry 1: Too Many Requests", "retry 2: connect ECONNREFUSED 127.0.0.1:1234"].join("\n");
    expect(classifyFailure(log)?.kind).toBe("NETWORK");
    expect(classifyFailure("Unauthorized; rate limit headers follow")?.kind).toBe("AUTH");
    expect(classifyFailure(apiError(404, "The model `m` does not exist (Not Found)"))?.kind).toBe("MODEL");
  });

  it("classifies Errors with their cause, as fetch raises them", () => {
    const cause = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:9"), { code: "ECONNREFUSED" });
    const error = new TypeError("fetch failed", { cause });
    const hint = classifyFailure(error);
    expect(hint?.kind).toBe("NETWORK");
    expect(hint?.hint).toContain("127.0.0.1:9");
  });

  it("ignores response headers except retry-after, and reads the wait", () => {
    const error = apiError(500, "Internal Server Error", {
      responseHeaders: { "x-ratelimit-remaining-requests": "99", "content-type": "application/json" },
    });
    expect(classifyFailure(error)).toBeUndefined();
    const limited = classifyFailure(apiError(429, "slow down", { responseHeaders: { "retry-after": "7" } }));
    expect(limited).toMatchObject({ kind: "RATE_LIMIT", retryAfterMs: 7000 });
  });

  it("accepts a list of inputs", () => {
    expect(
      classifyFailure(["all good", { message: "getaddrinfo ENOTFOUND model.internal" }])?.hint,
    ).toContain("model.internal");
  });
});

describe("configured rate-limit patterns", () => {
  it("matches plain substrings case-insensitively and /regex/ sources", () => {
    const options = { rateLimitPatterns: ["Slot Unavailable", "/busy: \\d+ waiting/", /custom-limit/i] };
    expect(classifyFailure("error: slot unavailable, come back", options)).toMatchObject({
      kind: "RATE_LIMIT",
      fatal: false,
    });
    expect(classifyFailure("queue busy: 12 waiting", options)?.kind).toBe("RATE_LIMIT");
    expect(classifyFailure("CUSTOM-LIMIT hit", options)?.kind).toBe("RATE_LIMIT");
    expect(classifyFailure("queue busy: many waiting", options)).toBeUndefined();
    expect(classifyFailure("slot unavailable")).toBeUndefined();
  });

  it("does not let a configured pattern override a fatal cause", () => {
    expect(
      classifyFailure("slot unavailable; ECONNREFUSED", { rateLimitPatterns: ["slot unavailable"] })?.kind,
    ).toBe("NETWORK");
  });

  it("compiles patterns strictly for config validation, leniently at run time", () => {
    expect(() => compilePattern("/([a-/")).toThrow(/invalid rate-limit pattern/);
    expect(compilePattern("/([a-/", { lenient: true }).test("x /([a-/ y")).toBe(true);
    expect(compilePattern("/v1/chat").test("POST /V1/CHAT/completions")).toBe(true);
    expect(compilePattern("a.b").test("axb")).toBe(false);
    const global = compilePattern(/limit/g);
    expect([global.test("limit"), global.test("limit")]).toEqual([true, true]);
  });
});

describe("redaction", () => {
  const secrets = [
    "sk-proj-AbCdEf1234567890XYZ",
    "sk-ant-api03-abcdefghijklmnop",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N",
    "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
    "s3cr3t-passw0rd",
    "dXNlcjpwYXNzd29yZA==",
  ];

  it("removes bearer tokens, header values, keys and URL credentials", () => {
    const text = [
      `Authorization: Bearer ${secrets[2]}`,
      `authorization: Basic ${secrets[5]}`,
      `{"apiKey": "${secrets[0]}", "x-api-key": "${secrets[1]}"}`,
      `OPENAI_API_KEY=${secrets[0]}`,
      `token ${secrets[3]}`,
      `https://user:${secrets[4]}@proxy.example.com:8080/v1`,
      `http://127.0.0.1:4096/event?auth_token=${secrets[5]}&x=1`,
      `password: ${secrets[4]}`,
    ].join("\n");
    const redacted = redactSecrets(text);
    for (const secret of secrets) expect(redacted).not.toContain(secret);
    expect(redacted).toContain("Authorization: Bearer [REDACTED]");
    expect(redacted).toContain("authorization: Basic [REDACTED]");
    expect(redacted).toContain("https://[REDACTED]@proxy.example.com:8080/v1");
    expect(redacted).toContain("auth_token=[REDACTED]&x=1");
  });

  it("leaves ordinary text alone", () => {
    const text = "connect ECONNREFUSED 127.0.0.1:8080 while max_tokens: 4096 and tokens used: 12";
    expect(redactSecrets(text)).toBe(text);
  });

  it("never puts a secret in matched or hint", () => {
    const key = "sk-live-0123456789abcdefghij";
    const hint = classifyFailure({
      name: "APIError",
      data: { statusCode: 401, message: `Incorrect API key provided: ${key}. Authorization: Bearer ${key}` },
    });
    expect(hint?.kind).toBe("AUTH");
    expect(JSON.stringify(hint)).not.toContain(key);
    const line = classifyFailure(`401: Incorrect API key provided: ${key}. Authorization: Bearer ${key}`);
    expect(line?.matched).toBe(
      "401: Incorrect API key provided: sk-[REDACTED]. Authorization: Bearer [REDACTED]",
    );
    const network = classifyFailure(`getaddrinfo ENOTFOUND https://admin:${key}@host.example`);
    expect(JSON.stringify(network)).not.toContain(key);
  });

  it("shortens very long matched lines", () => {
    const hint = classifyFailure(`${"x".repeat(5000)} ECONNREFUSED ${"y".repeat(5000)}`);
    expect(hint?.kind).toBe("NETWORK");
    expect(hint?.matched.length).toBeLessThan(410);
    expect(hint?.matched).toContain("ECONNREFUSED");
  });
});

describe("failureText", () => {
  it("flattens OpenCode errors, retry statuses and Errors into lines", () => {
    expect(failureText(apiError(401, "bad key"))).toBe(
      "name: APIError\ndata.message: bad key\ndata.statusCode: 401\ndata.isRetryable: false",
    );
    expect(failureText(502)).toBe("HTTP status 502");
    expect(failureText(new Error("boom", { cause: "root" }))).toBe("Error: boom\ncause: root");
    const cyclic: Record<string, unknown> = { message: "loop" };
    cyclic["self"] = cyclic;
    expect(failureText(cyclic)).toBe("message: loop");
  });
});

describe("retryAfterMs", () => {
  it("reads headers and prose", () => {
    expect(retryAfterMs("retry-after: 12")).toBe(12_000);
    expect(retryAfterMs('"retry-after-ms": "250"')).toBe(250);
    expect(retryAfterMs("Please try again in 1.5s.")).toBe(1500);
    expect(retryAfterMs("try again in 20 seconds")).toBe(20_000);
    expect(retryAfterMs("retry in 2 minutes")).toBe(120_000);
    expect(retryAfterMs("try again in 300ms")).toBe(300);
    expect(retryAfterMs("try again later")).toBeUndefined();
  });
});

describe("failureReasonFor", () => {
  it("maps kinds to failure reasons", () => {
    expect(["NETWORK", "AUTH", "CONFIG", "PATH"].map((k) => failureReasonFor(k as "NETWORK"))).toEqual(
      Array(4).fill("INFRASTRUCTURE"),
    );
    expect(failureReasonFor("MODEL")).toBe("MODEL");
    expect(failureReasonFor("RATE_LIMIT")).toBe("RATE_LIMIT");
  });
});

describe("backoffMs", () => {
  const policy = { baseMs: 1000, maxMs: 30_000 };

  it("doubles the ceiling per attempt, up to maxMs (full jitter, random near 1)", () => {
    const high = () => 0.999999;
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => backoffMs(n, policy, high))).toEqual([
      999, 1999, 3999, 7999, 15_999, 29_999, 29_999,
    ]);
  });

  it("is uniform in [0, ceiling) and deterministic with an injected random", () => {
    expect(backoffMs(3, policy, () => 0)).toBe(0);
    expect(backoffMs(3, policy, () => 0.5)).toBe(2000);
    for (let i = 0; i < 1000; i++) {
      const wait = backoffMs(4, policy);
      expect(wait).toBeGreaterThanOrEqual(0);
      expect(wait).toBeLessThan(8000);
    }
  });

  it("stays finite and sane for odd inputs", () => {
    expect(backoffMs(0, policy, () => 0.5)).toBe(500);
    expect(backoffMs(-3, policy, () => 0.5)).toBe(500);
    expect(backoffMs(Number.NaN, policy, () => 0.5)).toBe(500);
    expect(backoffMs(10_000, policy, () => 0.5)).toBe(15_000);
    expect(backoffMs(5, { baseMs: 0, maxMs: 1000 }, () => 0.5)).toBe(0);
    expect(backoffMs(2, policy, () => 1)).toBeLessThan(2000);
    expect(backoffMs(2, policy, () => -1)).toBe(0);
  });
});
