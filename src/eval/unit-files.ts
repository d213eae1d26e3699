/**
 * A finished unit's files (diff.patch, session.json, result.json, unit.json written last), and
 * the result of a unit that failed before its agent ran; shared by ocbox-format and Harbor units.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { emptyTokens, type TaskResult } from "../executor/task.js";
import { writeJson } from "./manifest.js";
import type { Unit } from "./units.js";
import { isInfraFailure, SESSION_FILE, type CheckOutcome, type UnitRecord } from "./unit-record.js";
import { writeDiff } from "./workspace.js";
import { StepTimer } from "./unit-steps.js";

/** A finished unit's files: diff.patch, session.json, result.json and unit.json (written last). */
export async function writeUnitFiles(
  unit: Unit,
  dir: string,
  done: {
    result: TaskResult;
    check: CheckOutcome | null;
    exported: unknown;
    harbor?: Pick<UnitRecord, "verifier" | "timings" | "oracle">;
    /** The unit's step trace so far; the diff and the files are added to it. */
    steps?: StepTimer;
  },
): Promise<UnitRecord> {
  const { result, check, exported } = done;
  const steps = done.steps ?? new StepTimer();
  const diffBytes = await steps.time("diff", () =>
    writeDiff(unit.task.app, join(dir, "workspace"), join(dir, "diff.patch")),
  );
  const record: Omit<UnitRecord, "finishedAt"> = {
    key: unit.key,
    task: unit.task.id,
    repeat: unit.repeat,
    taskDigest: unit.task.digest,
    prompt: unit.task.prompt,
    requirements: unit.task.requirements,
    check,
    ...(done.harbor ?? {}),
    ...sessionRef(exported),
    infra: isInfraFailure(result),
    diffBytes,
  };
  await steps.time("files", async () => {
    await writeFile(join(dir, SESSION_FILE), `${JSON.stringify(exported ?? null)}\n`, { mode: 0o600 });
    await writeJson(join(dir, "result.json"), result);
  });
  // unit.json last: its trace covers everything before it; writing it is the one step it misses.
  const finished: UnitRecord = { ...record, steps: steps.snapshot(), finishedAt: new Date().toISOString() };
  await writeJson(join(dir, "unit.json"), finished);
  return finished;
}

/** unit.json's pointer to session.json, with its message count; none without an export. Pure. */
export function sessionRef(exported: unknown): Pick<UnitRecord, "session"> {
  if (typeof exported !== "object" || exported === null) return {};
  const messages = (exported as { messages?: unknown }).messages;
  const truncated = (exported as { truncated?: unknown }).truncated !== undefined;
  return {
    session: {
      file: SESSION_FILE,
      messages: Array.isArray(messages) ? messages.length : 0,
      ...(truncated ? { truncated: true } : {}),
    },
  };
}

export function infraResult(message: string, seconds: number): TaskResult {
  return {
    outcome: "ERROR",
    contract: null,
    failureReason: "INFRASTRUCTURE",
    failureKind: null,
    hint: message,
    attempts: 0,
    recoveredBy: null,
    sessionId: null,
    model: null,
    tokens: emptyTokens(),
    cost: 0,
    timings: { queued: 0, sandbox: 0, firstRequest: null, agent: 0, total: seconds },
    sandbox: "none",
    pool: null,
    rawOutput: null,
    role: null,
  };
}
