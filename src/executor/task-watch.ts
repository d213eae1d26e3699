/**
 * What the event stream tells a running task, between prompts: activity (feeds the inactivity
 * timer), the first model call (timings.firstRequest), provider retries (a fatal one stops the
 * attempt early) and permission asks (answered by the policy; one that cannot be answered stops
 * the attempt at once). The guard holds what the prompt loop checks after each attempt.
 */
import type { OpencodeClient } from "@opencode-ai/sdk/v2";
import { watchSession, type SessionWatch } from "../opencode/events.js";
import { AskAnswerer } from "./ask-answerer.js";
import { classifyFailure, permissionHint, type FailureHint } from "./hints.js";
import type { ConfigText, PermissionPolicy } from "./permission-policy.js";
import type { TaskRun } from "./task-run.js";
import type { Watchdog } from "./watchdog.js";

export interface WatchInput {
  client: OpencodeClient;
  /** The task's session, or its creation under way (the stream connects meanwhile). */
  sessionId: string | Promise<string>;
  run: TaskRun;
  watchdog: Watchdog;
  rateLimitPatterns: string[];
  permissions: PermissionPolicy;
  configs: readonly ConfigText[];
}

/** Why the current attempt must stop, set from the stream. */
export class AttemptGuard {
  fatal: FailureHint | undefined;
  /** An ask that could not be answered: the task ends PERMISSION. */
  unanswered: string | undefined;
  rateLimited = 0;
  private controller = new AbortController();

  /** A fresh abort signal for the next attempt. */
  nextAttempt(): AbortSignal {
    this.controller = new AbortController();
    return this.controller.signal;
  }

  stop(reason: string): void {
    this.controller.abort(new Error(reason));
  }
}

export interface TaskWatch {
  guard: AttemptGuard;
  answerer: AskAnswerer;
  ready: Promise<void>;
  stop(): void;
}

export function watchTask(input: WatchInput): TaskWatch {
  const { client, sessionId, run, watchdog } = input;
  const guard = new AttemptGuard();
  const abortSession = () =>
    void Promise.resolve(sessionId)
      .then((sessionID) => client.session.abort({ sessionID }))
      .catch(() => undefined);
  const answerer = new AskAnswerer(client, {
    policy: input.permissions,
    configs: input.configs,
    onLine: (l) => run.emit("log", l),
    onUnanswered: () => {
      guard.unanswered ??= permissionHint(answerer.answered, input.permissions);
      guard.stop("PERMISSION");
      abortSession();
    },
  });
  const watch: SessionWatch = watchSession(client, sessionId, {
    onActivity: () => watchdog.touch(),
    // From the call to the server's first model call (its first assistant message).
    onAssistantMessage: () => run.firstRequest(),
    onRetry: (status) => {
      const hint = classifyFailure(status.message, { rateLimitPatterns: input.rateLimitPatterns });
      run.emit("retry", `provider retry ${status.attempt}: ${hint?.kind ?? "unclassified"}`);
      if (hint?.kind === "RATE_LIMIT") guard.rateLimited++;
      if (hint?.fatal && !guard.fatal) {
        guard.fatal = hint;
        guard.stop(hint.kind);
        abortSession();
      }
    },
    onPermissionAsked: (ask) => void answerer.handle(ask),
    // The stream is lossy: after every (re)connect, the asks raised meanwhile are read back.
    onConnected: () => void answerer.sweep(),
  });
  return { guard, answerer, ready: watch.ready, stop: () => watch.stop() };
}
