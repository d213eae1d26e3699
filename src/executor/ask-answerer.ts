/**
 * Answers the permission asks on a task's server (its session's and its sub-agents') by the
 * unattended policy, as they arrive on the event stream and, after every (re)connect, from the
 * server's pending list (the stream is lossy).
 * Each ask is answered once and recorded; an ask whose reply fails calls `onUnanswered`, so the
 * task can stop at once instead of waiting for the inactivity timer.
 */
import type { OpencodeClient } from "@opencode-ai/sdk/v2";
import { errorMessage } from "../errors.js";
import { pendingAsks, replyAsk, type PermissionAsk } from "../opencode/permissions.js";
import {
  answeredAsk,
  replyFor,
  type AnsweredAsk,
  type ConfigText,
  type PermissionPolicy,
} from "./permission-policy.js";

export interface AskAnswererOptions {
  policy: PermissionPolicy;
  /** The workspace's opencode.json(c), read before the sandbox started. */
  configs: readonly ConfigText[];
  onLine?: (line: string) => void;
  onUnanswered?: (ask: AnsweredAsk) => void;
}

export class AskAnswerer {
  private readonly seen = new Set<string>();
  private readonly done: AnsweredAsk[] = [];
  private inFlight: Promise<void>[] = [];

  constructor(
    private readonly client: OpencodeClient,
    private readonly options: AskAnswererOptions,
  ) {}

  /** Every ask answered so far, in order. */
  get answered(): AnsweredAsk[] {
    return [...this.done];
  }

  /** Answer one ask (once per id, whatever its source). */
  handle(ask: PermissionAsk): Promise<void> {
    if (this.seen.has(ask.id)) return Promise.resolve();
    this.seen.add(ask.id);
    const reply = replyFor(this.options.policy);
    const p = replyAsk(this.client, ask.id, reply).then(
      () => {
        const a = answeredAsk(ask, reply, this.options.configs);
        this.done.push(a);
        this.options.onLine?.(`permission ${a.permission} ${a.patterns.join(" ")}: ${reply}`);
      },
      (e: unknown) => {
        const a = answeredAsk(ask, "unanswered", this.options.configs, errorMessage(e));
        this.done.push(a);
        this.options.onUnanswered?.(a);
      },
    );
    this.inFlight.push(p);
    return p;
  }

  /** Re-read the server's pending asks and answer those not answered yet. */
  async sweep(): Promise<void> {
    const asks = await pendingAsks(this.client).catch((e: unknown) => {
      this.options.onLine?.(`permission asks: ${errorMessage(e)}`);
      return [];
    });
    await Promise.all(asks.map((a) => this.handle(a)));
  }

  /** Wait for the replies under way (before the result is written). */
  async settle(): Promise<void> {
    const pending = this.inFlight;
    this.inFlight = [];
    await Promise.all(pending);
  }
}
