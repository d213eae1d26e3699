/**
 * The warm pool (issue 5, "beyond every peer"). Peers pay a container start and an OpenCode cold
 * start on every call. The warm pool keeps N sandboxes started and ready, each on an empty slot
 * dir and bound to no task yet. A task takes one: its workspace is copied into the slot, the agent
 * works there, the result is synced back to the task's workspace, and the sandbox is removed, never
 * reused, so tasks stay as isolated from each other as with cold starts. The pool refills in the
 * background.
 *
 * A ready sandbox has also loaded OpenCode's instance for /workspace (config and providers): on a
 * new server that is most of the first prompt's cost, 1-3 s on 2 cores (BENCHMARKS.md). When the
 * task's workspace brings something that instance read at load time (its own OpenCode config, a
 * git repository, skills), the instance is disposed after the copy and loads again from the copy,
 * as a cold sandbox would. It has also answered one throwaway prompt to a stub provider that never
 * leaves the container (warm-up-provider.ts), so the task's first prompt is the server's second.
 */
import { access } from "node:fs/promises";
import { join } from "node:path";
import { errorMessage } from "../errors.js";
import type { Engine } from "../runtime/engine.js";
import { currentOwner } from "../runtime/owner.js";
import { lendWorkspace, needsOwnershipLoan } from "../sandbox/ownership.js";
import { createSlotDir, openSlotForSync, removeSlotDir } from "../sandbox/slot-dir.js";
import { startSandbox, type StartedSandbox } from "../sandbox/start.js";
import { copyBack } from "../sandbox/copy-back.js";
import { DEFAULT_COPY_BACK_CAPS } from "../sandbox/copy-back-policy.js";
import { keepDir } from "../sandbox/kept-dir.js";
import { copyInto } from "../sandbox/workspace-sync.js";
import { preloadInstance, serverCall } from "./preload.js";
import { warmUpPrompt } from "../opencode/warm-up-prompt.js";
import { WARM_UP_MODEL, WARM_UP_PROVIDER, withWarmUpProvider } from "./warm-up-provider.js";
import type { SandboxProfile } from "../plan/sandbox-profile.js";
import { canServe, specFor, taskSandboxId } from "./task-sandbox-spec.js";
import type { SyncBack } from "./sync-back.js";
import { traced } from "../util/trace.js";
import { refillCount, takeStep, type PoolCounts } from "./warm-pool-gate.js";

interface Slot {
  dir: string;
  sandbox: StartedSandbox;
}

/** What OpenCode reads from the directory when it loads an instance (config, project, skills). */
const INSTANCE_INPUTS = ["opencode.json", "opencode.jsonc", ".opencode", ".git", ".claude", ".agents"];

async function readsInstanceInputs(workspace: string): Promise<boolean> {
  const found = await Promise.all(
    INSTANCE_INPUTS.map((name) =>
      access(join(workspace, name)).then(
        () => true,
        () => false,
      ),
    ),
  );
  return found.includes(true);
}

export interface WarmPoolOptions {
  size: number;
  /** At most this many sandboxes in all, for a batch of known length (the eval runner); default no cap. */
  limit?: number;
  /**
   * At most this many sandboxes busy at once, starting or taken by a task (the eval runner: one
   * per core). A refill waits for a taken one to finish rather than compete with running agents
   * for the cores, and a `take` waits for room instead of starting cold. Default: no gate.
   */
  maxBusy?: number;
  /**
   * At most this many sandboxes starting at once; the next starts when one is ready. Starts are
   * OpenCode boots, CPU work that slows each other down when many run on few cores. Default: no cap.
   */
  maxStarting?: number;
  onLine?: (line: string) => void;
  /** Asked before each start: false skips it (a service's budget); default always. */
  mayStart?: () => boolean;
  /**
   * Send each sandbox one throwaway prompt to a stub provider before a task can take it
   * (warm-up-provider.ts); default true. False: the instance is only preloaded.
   */
  warmUpPrompt?: boolean;
}

/**
 * How long a take holds the refill back at most: until the task's agent makes its first model
 * request (`agentStarted`), so a container start and an OpenCode boot do not compete with the
 * task's first prompt for the cores, or this long, or until another task asks for a sandbox.
 */
const REFILL_HOLD_MS = 5_000;

/** The throwaway prompt's bound (a first prompt took 29 s at load 45 on 2 cores); a stub that does not answer costs a slot this much at most. */
const WARM_UP_TIMEOUT_MS = 60_000;

export class WarmPool {
  private readonly ready: Slot[] = [];
  private readonly starting = new Set<Promise<Slot | undefined>>();
  private closed = false;
  private started = 0;
  /** Sandboxes taken by a task and not yet finished. */
  private taken = 0;
  /** Woken when a taken sandbox finishes (room for a gated refill). */
  private wake: Array<() => void> = [];
  /** Set while a take holds the refill back (REFILL_HOLD_MS). */
  private held: NodeJS.Timeout | undefined;

  constructor(
    private readonly engine: Engine,
    private readonly profile: SandboxProfile,
    private readonly options: WarmPoolOptions,
  ) {}

  /** Whether this pool's sandboxes can run a task planned with `profile` (task-sandbox-spec.ts). */
  matches(profile: SandboxProfile): boolean {
    return !this.closed && canServe(this.profile, profile);
  }

  get readyCount(): number {
    return this.ready.length;
  }

  get startingCount(): number {
    return this.starting.size;
  }

  private counts(): PoolCounts {
    return {
      ready: this.ready.length,
      starting: this.starting.size,
      taken: this.taken,
      started: this.started,
      closed: this.closed,
    };
  }

  /** Start sandboxes until `size` are ready or starting (as far as the gate lets it). */
  fill(): void {
    for (
      let n = refillCount(this.counts(), this.options);
      n > 0 && (this.options.mayStart?.() ?? true);
      n--
    ) {
      this.started++;
      const p: Promise<Slot | undefined> = this.startOne().then(
        (slot) => {
          this.starting.delete(p);
          // Under a cap on starts, a start that made a sandbox makes room for the next (a failed
          // one does not, so a start that keeps failing does not loop); a held refill waits.
          if (slot && this.options.maxStarting !== undefined && !this.held) this.fill();
          return slot;
        },
        (e: unknown) => {
          this.starting.delete(p);
          throw e;
        },
      );
      this.starting.add(p);
    }
  }

  /** Hold the refill back until `refillNow` (the task's first model request) or REFILL_HOLD_MS. */
  private holdRefill(): void {
    if (this.held) return;
    this.held = setTimeout(() => this.refillNow(), REFILL_HOLD_MS);
    this.held.unref();
  }

  /** End a held refill, if any, and refill. */
  private refillNow(): void {
    clearTimeout(this.held);
    this.held = undefined;
    this.fill();
  }

  /** Resolves when the pool is full (for benchmarks and tests). */
  async whenFull(): Promise<void> {
    this.refillNow();
    while (this.starting.size > 0) await Promise.race(this.starting);
  }

  private async startOne(): Promise<Slot | undefined> {
    const planned = specFor(this.profile, "/workspace", taskSandboxId("warm"));
    const warmUp = (this.options.warmUpPrompt ?? true) && planned.opencodeConfig !== undefined;
    const spec =
      warmUp && planned.opencodeConfig
        ? { ...planned, opencodeConfig: withWarmUpProvider(planned.opencodeConfig) }
        : planned;
    // The slot's own namespace (slot-dir.ts): never where run dirs or egress dirs live.
    const dir = await createSlotDir(currentOwner(), spec.agentUser);
    try {
      const sandbox = await startSandbox(this.engine, { ...spec, workspace: dir });
      await this.warm(sandbox, warmUp);
      const slot = { dir, sandbox };
      if (this.closed) {
        await this.discard(slot);
        return undefined;
      }
      this.ready.push(slot);
      return slot;
    } catch (e) {
      this.options.onLine?.(`warm pool: a sandbox failed to start: ${errorMessage(e)}`);
      await removeSlotDir(dir).catch((e: unknown) =>
        this.options.onLine?.(`warm pool: could not remove ${dir}: ${errorMessage(e)}`),
      );
      return undefined;
    }
  }

  /**
   * Load the /workspace instance and its providers now, not on the task's first prompt; then the
   * throwaway prompt. A task waiting for this sandbox waits for these steps, which its own first
   * prompt would otherwise run. A failed step leaves a sandbox that works, only slower to start.
   */
  private async warm(sandbox: StartedSandbox, prompt: boolean): Promise<void> {
    const failed = (what: string) => (e: unknown) =>
      this.options.onLine?.(`warm pool: ${what} failed: ${errorMessage(e)}`);
    await traced("warm.preload", () => preloadInstance(sandbox.server)).catch(
      failed("preloading OpenCode's instance"),
    );
    if (!prompt || this.closed) return;
    await traced("warm.warm-up-prompt", () =>
      warmUpPrompt(
        sandbox.server,
        { providerID: WARM_UP_PROVIDER, modelID: WARM_UP_MODEL },
        WARM_UP_TIMEOUT_MS,
      ),
    ).catch(failed("the warm-up prompt"));
  }

  private async discard(slot: Slot): Promise<void> {
    await slot.sandbox.stop().catch(() => undefined);
    await removeSlotDir(slot.dir).catch((e: unknown) =>
      this.options.onLine?.(`warm pool: could not remove ${slot.dir}: ${errorMessage(e)}`),
    );
  }

  /**
   * A ready sandbox with `workspace` copied in, or undefined when none is ready or starting (the
   * caller then starts one cold). `finish` stops it, syncs the work back and removes the slot; it
   * does not throw, it says what happened (see sync-back.ts). `agentStarted` (the task's first
   * model request) lets the refill the take held back begin.
   */
  async take(
    workspace: string,
    signal?: AbortSignal,
  ): Promise<
    { sandbox: StartedSandbox; finish: () => Promise<SyncBack>; agentStarted: () => void } | undefined
  > {
    const slot = await this.nextSlot(signal);
    if (!slot) {
      this.refillNow();
      return undefined;
    }
    this.holdRefill();
    const s = slot;
    if (signal?.aborted) {
      await this.discard(s).finally(() => this.release());
      signal.throwIfAborted();
    }
    try {
      await traced("warm.copy-in", () => copyInto(workspace, s.dir));
      const spec = s.sandbox.spec;
      if (needsOwnershipLoan(spec.hostUser, spec.agentUser))
        await traced("warm.lend-workspace", () => lendWorkspace(s.dir, spec.hostUser, spec.agentUser));
      // The preloaded instance saw an empty dir: reload it when the copy brings what it reads.
      if (await traced("warm.instance-inputs", () => readsInstanceInputs(s.dir)))
        await traced("warm.instance-dispose", () =>
          serverCall(s.sandbox.server, "POST", "/instance/dispose"),
        );
    } catch (e) {
      await this.discard(s).finally(() => this.release());
      throw e;
    }
    let released = false;
    return {
      sandbox: s.sandbox,
      agentStarted: () => this.refillNow(),
      finish: () =>
        this.syncBack(s, workspace).finally(() => {
          if (!released) this.release();
          released = true;
        }),
    };
  }

  /**
   * A ready sandbox, waiting for one on its way (sooner than a cold start); several callers may
   * wait at once, and one that loses the race waits for the next. Behind the gate, with none on
   * its way, it waits for a taken one to finish and the refill that frees. Undefined: start cold.
   * The sandbox handed out counts as taken until its `finish`.
   */
  private async nextSlot(signal?: AbortSignal): Promise<Slot | undefined> {
    // Another task wants a sandbox: a refill held back for the last one waits no longer.
    if (this.held) this.refillNow();
    for (;;) {
      if (signal?.aborted) return undefined;
      const step = takeStep(this.counts(), this.options);
      if (step === "cold") return undefined;
      if (step === "take") {
        this.taken++;
        return this.ready.shift();
      }
      if (step === "wait-start") await Promise.race([...this.starting]);
      else
        await new Promise<void>((r) => {
          this.wake.push(r);
          signal?.addEventListener("abort", () => r(), { once: true });
        });
    }
  }

  /** A taken sandbox is done: room for a gated refill. */
  private release(): void {
    this.taken--;
    this.refillNow();
    for (const wake of this.wake.splice(0)) wake();
  }

  /**
   * Stop the sandbox (the agent stops writing, a lent slot is given back to the host user), copy
   * the work back through copy-back.ts, and remove the slot. A failed stop or copy keeps the slot,
   * with everything the agent wrote, and says where it is; files left out over the caps do not keep it.
   */
  private async syncBack(s: Slot, workspace: string): Promise<SyncBack> {
    const failed = async (step: "stop" | "copy", e: unknown): Promise<SyncBack> => {
      // Out of the slots root, which the reaper empties once this process is gone.
      const kept = await keepDir(s.dir);
      if (kept.moveError) this.options.onLine?.(`warm pool: ${s.dir} stays where it is: ${kept.moveError}`);
      return { kind: "failed", step, error: errorMessage(e), kept: kept.path };
    };
    try {
      await s.sandbox.stop();
    } catch (e) {
      return failed("stop", e);
    }
    const caps = this.profile.copyBack ?? DEFAULT_COPY_BACK_CAPS;
    let report;
    try {
      // An ordinary user cannot read a dir the agent closed (`chmod 0300`): open it up by descriptor.
      await openSlotForSync(s.dir);
      report = await copyBack(s.dir, workspace, { caps, mirror: true });
    } catch (e) {
      return failed("copy", e);
    }
    // Whatever the agent left goes, read by nothing (slot-dir.ts).
    await removeSlotDir(s.dir).catch((e: unknown) =>
      this.options.onLine?.(
        `warm pool: the work came back, but removing ${s.dir} failed: ${errorMessage(e)}`,
      ),
    );
    return { kind: "synced", report, caps };
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.held);
    this.held = undefined;
    for (const wake of this.wake.splice(0)) wake();
    const pending = await Promise.all([...this.starting]);
    const all = [...this.ready.splice(0), ...pending.filter((s): s is Slot => s !== undefined)];
    await Promise.all(all.map((s) => this.discard(s)));
  }
}
