/**
 * A scripted stand-in for the OpenCode server's client, for the executor's state-machine tests:
 * each prompt is answered by the next script step, the event stream is a queue the test pushes
 * to, and permission asks are listed and replied to in memory. No Docker, no network.
 */
import type { OpencodeClient } from "@opencode-ai/sdk/v2";
import type { ExecutorDeps } from "../../../src/executor/run-task.js";
import type { TaskPlan } from "../../../src/executor/task-plan.js";
import { baseContract } from "../../../src/executor/contract.js";
import { DEFAULT_TIMEOUTS } from "../../../src/executor/task.js";
import type { Clock } from "../../../src/executor/watchdog.js";
import type { Engine } from "../../../src/runtime/engine.js";
import { engineCapabilities } from "../../../src/runtime/engine-capabilities.js";
import type { ImageSet } from "../../../src/image/build.js";
import type { StartedSandbox } from "../../../src/sandbox/start.js";
import { DEFAULT_LIMITS } from "../../../src/sandbox/spec.js";

export interface Answer {
  text?: string;
  structured?: unknown;
  error?: { name: string; data: Record<string, unknown> };
}
/** One prompt's answer, or a function of the fake and the prompt's signal (to hang, to push events). */
export type Step = Answer | ((fake: FakeOpencode, signal: AbortSignal) => Promise<Answer>);

export interface RawEvent {
  type: string;
  properties?: Record<string, unknown>;
}

export const SESSION = "ses_fake";

export class FakeOpencode {
  readonly prompts: string[] = [];
  readonly replies: { requestID: string; reply: string }[] = [];
  readonly pending: Record<string, unknown>[] = [];
  aborts = 0;
  replyFails = false;
  private queue: RawEvent[] = [];
  private wake: (() => void) | undefined;

  constructor(private readonly steps: Step[]) {}

  /** Push an event onto the stream. */
  push(e: RawEvent): void {
    this.queue.push(e);
    this.wake?.();
  }

  /** Push a `permission.asked` for the session; `listed` also puts it in the pending list. */
  ask(id: string, permission: string, patterns: string[], options: { onStream?: boolean } = {}): void {
    const ask = { id, sessionID: SESSION, permission, patterns, metadata: {}, always: [] };
    this.pending.push(ask);
    if (options.onStream ?? true) this.push({ type: "permission.asked", properties: ask });
  }

  private async *stream(signal: AbortSignal): AsyncGenerator<RawEvent> {
    yield { type: "server.connected" };
    while (!signal.aborted) {
      const next = this.queue.shift();
      if (next) {
        yield next;
        continue;
      }
      await new Promise<void>((r) => {
        this.wake = r;
        signal.addEventListener("abort", () => r(), { once: true });
      });
    }
  }

  client(): OpencodeClient {
    const ok = { ok: true, status: 200 };
    const fake = {
      session: {
        create: () => Promise.resolve({ data: { id: SESSION }, response: ok }),
        abort: () => {
          this.aborts++;
          return Promise.resolve({ data: true, response: ok });
        },
        prompt: async (body: { parts: { text: string }[] }, options: { signal: AbortSignal }) => {
          this.prompts.push(body.parts[0]?.text ?? "");
          const step = this.steps.shift();
          if (!step) throw new Error("the fake has no answer left");
          const answer = typeof step === "function" ? await step(this, options.signal) : step;
          return { data: promptData(this.prompts.length, answer), response: ok };
        },
      },
      event: {
        subscribe: (_q: unknown, options: { signal: AbortSignal }) =>
          Promise.resolve({ stream: this.stream(options.signal) }),
      },
      config: { get: () => Promise.resolve({ data: {} }) },
      permission: {
        list: () => Promise.resolve({ data: [...this.pending], response: ok }),
        reply: (p: { requestID: string; reply: string }) => {
          if (this.replyFails) return Promise.reject(new Error("connection reset"));
          this.replies.push(p);
          const i = this.pending.findIndex((a) => a.id === p.requestID);
          if (i >= 0) this.pending.splice(i, 1);
          return Promise.resolve({ data: true, response: ok });
        },
      },
    };
    return fake as unknown as OpencodeClient;
  }
}

function promptData(n: number, a: Answer) {
  return {
    info: {
      id: `msg_${n}`,
      role: "assistant",
      providerID: "fake",
      modelID: "fake-model",
      cost: 0.01,
      tokens: { input: 10, output: 5, reasoning: 0, cache: { read: 0, write: 0 } },
      ...(a.structured !== undefined ? { structured: a.structured } : {}),
      ...(a.error ? { error: a.error } : {}),
    },
    parts: a.text !== undefined ? [{ type: "text", text: a.text }] : [],
  };
}

/** A prompt that never answers until its attempt is aborted. */
export const hang = (_f: FakeOpencode, signal: AbortSignal): Promise<Answer> =>
  new Promise<Answer>((_r, reject) =>
    signal.addEventListener("abort", () => reject(new Error("aborted", { cause: signal.reason }))),
  );

/** Timers moved by hand: `advance(ms)` fires what is due. */
export class ManualClock implements Clock {
  now = 0;
  private timers = new Map<number, { at: number; fn: () => void }>();
  private next = 1;
  setTimeout(fn: () => void, ms: number): number {
    const id = this.next++;
    this.timers.set(id, { at: this.now + ms, fn });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }
  advance(ms: number): void {
    this.now += ms;
    for (const [id, t] of [...this.timers].sort((a, b) => a[1].at - b[1].at)) {
      if (t.at > this.now) continue;
      this.timers.delete(id);
      t.fn();
    }
  }
  get pending(): number {
    return this.timers.size;
  }
}

export function fakePlan(overrides: Partial<TaskPlan> = {}): TaskPlan {
  return {
    // The state machine asks the engine only what it cannot enforce: a Docker engine, all of it.
    engine: {
      capabilities: () =>
        Promise.resolve(
          engineCapabilities({
            flavour: "docker",
            rootless: false,
            cgroupVersion: "2",
            cgroupDriver: "systemd",
            memoryLimit: true,
            pidsLimit: true,
            cpuCfsQuota: true,
          }),
        ),
    } as unknown as Engine,
    images: {} as ImageSet,
    profile: {
      images: { sandbox: "fake", egress: "fake" },
      opencodeConfig: {},
      forwardPorts: [],
      env: {},
      limits: DEFAULT_LIMITS,
      readyTimeoutMs: 1000,
    },
    model: undefined,
    role: null,
    system: undefined,
    contract: baseContract,
    structuredOutput: true,
    pool: "fake",
    timeouts: { ...DEFAULT_TIMEOUTS },
    maxRetriesOnMalformedOutput: 2,
    structurer: { enabled: true, model: undefined },
    rateLimitPatterns: [],
    maxModelRetries: 2,
    maxRateLimitRetries: 3,
    permissions: "reject",
    ...overrides,
  };
}

/** Deps that hand out a fake sandbox around `fake`; the structurer and sleep are recorded. */
export function fakeDeps(fake: FakeOpencode, extra: Partial<ExecutorDeps> = {}) {
  const sleeps: number[] = [];
  const deps: Partial<ExecutorDeps> = {
    acquireSandbox: () =>
      Promise.resolve({
        sandbox: {
          client: () => Promise.resolve(fake.client()),
          agentId: "agent",
          port: 1,
        } as unknown as StartedSandbox,
        warm: false,
        finish: () => Promise.resolve({ kind: "in-place" as const }),
      }),
    runStructurer: () => Promise.reject(new Error("no structurer in this test")),
    sleep: (ms) => {
      sleeps.push(ms);
      return Promise.resolve();
    },
    ...extra,
  };
  return { deps, sleeps };
}
