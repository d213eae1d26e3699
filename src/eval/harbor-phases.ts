/**
 * A Harbor task's phases after the agent (issue 15, items 5 and 7), in the container the agent
 * left (Harbor's shared verifier mode): stop the agent, bring back /logs/agent, /logs/artifacts
 * and the final WORKDIR, upload tests/ to /tests (never there before), run `bash /tests/test.sh`
 * with `[verifier]` user, env and timeout, read the reward (hostile input), bring back
 * /logs/verifier. Every copy goes through the hardened copy-back (sandbox/archive-tree.ts).
 * Also the oracle's "agent": solution/solve.sh run in the agent's place.
 */
import { join } from "node:path";
import { errorMessage } from "../errors.js";
import type { Engine } from "../runtime/engine.js";
import { copyTreeOut } from "../sandbox/archive-tree.js";
import type { CopyBackCaps } from "../sandbox/copy-back-policy.js";
import {
  putInto,
  readFileOut,
  readRewardFiles,
  removePaths,
  runScript,
  stopProcesses,
  uploadDir,
  type ScriptRun,
} from "../sandbox/task-phases.js";
import type { TaskImageSandbox } from "../sandbox/task-image-sandbox.js";
import type { HarborTask } from "./harbor-task.js";
import { MAX_REWARD_BYTES, parseReward } from "./reward.js";
import type { VerifierOutcome } from "./unit-record.js";

const VERIFIER_OUTPUT = "/logs/verifier/test-stdout.txt";
const TAIL = 4096;

export interface PhaseContext {
  engine: Engine;
  containerId: string;
  /** The container's egress sidecar (a shared verifier's policy is loaded into it). */
  egressId: string;
  harbor: HarborTask;
  sandbox: TaskImageSandbox;
  /** The unit's folder: logs/ and workspace/ land here. */
  unitDir: string;
  caps: CopyBackCaps;
  /** Seconds, after --timeout-multiplier. */
  verifierTimeoutS: number;
  /** The container runs under gVisor: uploads go in from inside (task-phases.ts putInto). */
  inside: boolean;
  /** The project's host ports (relayed to the verifier as to the agent). */
  hostPorts: readonly number[];
  trace: (line: string) => void;
}

/** The verifier's user: `[verifier].user`, else root (Harbor's tests install and read as root). */
const verifierUser = (h: HarborTask): string => {
  const u = h.toml.verifier.user;
  return u === undefined || u === "root" ? "0:0" : String(u);
};

/** Kill the agent's processes (its server and session with them); say what survived. */
export async function stopAgent(c: PhaseContext): Promise<string | undefined> {
  const left = await stopProcesses(c.engine, c.containerId, c.sandbox.user);
  if (left.length === 0) return undefined;
  // A root agent may have made processes of other users: they go too, as root.
  const still = await stopProcesses(c.engine, c.containerId, "0:0");
  return still.length ? `processes ${still.join(", ")} outlived the agent's stop` : undefined;
}

/** The agent's logs, artifacts and final WORKDIR, into the unit's folder. */
export async function bringBackAgentSide(c: PhaseContext): Promise<string[]> {
  const notes: string[] = [];
  const copies: Array<[string, string]> = [
    ["/logs/agent", join(c.unitDir, "logs", "agent")],
    ["/logs/artifacts", join(c.unitDir, "logs", "artifacts")],
    [c.sandbox.workdir, join(c.unitDir, "workspace")],
  ];
  for (const [from, to] of copies) {
    const r = await copyTreeOut(c.engine, c.containerId, from, to, c.caps);
    if (r?.dropped.length) notes.push(`${from}: ${r.dropped.length} link(s) or special file(s) not copied`);
    if (r?.leftOut.length) notes.push(`${from}: ${r.leftOut.length} entr(ies) over the caps not copied`);
  }
  return notes;
}

function outcomeOf(
  run: ScriptRun,
  reward: ReturnType<typeof parseReward>,
  tail: string,
  problems: string[],
): VerifierOutcome {
  const base = { exitCode: run.exitCode, seconds: run.seconds, outputTail: tail };
  if (run.timedOut) problems.unshift(`the verifier ran over its ${run.seconds.toFixed(0)} s timeout`);
  if (!reward.ok) problems.push(reward.problem);
  return {
    ...base,
    reward: reward.ok ? reward.reward : null,
    rewards: reward.ok ? reward.rewards : {},
    ...(problems.length ? { problem: problems.join("; ") } : {}),
  };
}

/** The verifier, in the agent's container once the agent is stopped. */
export async function runVerifier(c: PhaseContext): Promise<VerifierOutcome> {
  const problems: string[] = [];
  const cleared = await removePaths(c.engine, c.containerId, ["/tests", "/logs/verifier"]);
  if (cleared.exitCode !== 0) problems.push("could not clear /tests and /logs/verifier before the verifier");
  await uploadDir(c.engine, c.containerId, c.harbor.testsDir, "tests", c.inside);
  const user = verifierUser(c.harbor);
  await putInto(c.engine, c.containerId, "/", await logsDirTar(user), c.inside);
  c.trace(`verifier: bash /tests/test.sh as ${user}, timeout ${c.verifierTimeoutS} s`);
  const run = await runScript(c.engine, c.containerId, {
    script: "/tests/test.sh",
    user,
    cwd: c.sandbox.workdir,
    env: { ...c.sandbox.env, ...c.harbor.toml.verifier.env },
    timeoutS: c.verifierTimeoutS,
    outputFile: VERIFIER_OUTPUT,
  });
  const reward = parseReward(await readRewardFiles(c.engine, c.containerId, MAX_REWARD_BYTES));
  const out = await readFileOut(c.engine, c.containerId, VERIFIER_OUTPUT, 1024 * 1024);
  const tail = (out ?? Buffer.alloc(0)).subarray(-TAIL).toString("utf8");
  await copyTreeOut(
    c.engine,
    c.containerId,
    "/logs/verifier",
    join(c.unitDir, "logs", "verifier"),
    c.caps,
  ).catch((e: unknown) => problems.push(`/logs/verifier not copied: ${errorMessage(e)}`));
  return outcomeOf(run, reward, tail, problems);
}

async function logsDirTar(owner: string): Promise<Buffer> {
  const { pack } = await import("tar-stream");
  const [uid = 0, gid = uid] = owner.split(":").map(Number);
  const p = pack();
  p.entry({ name: "logs/", type: "directory", mode: 0o755, uid: 0, gid: 0, mtime: new Date() });
  p.entry({ name: "logs/verifier/", type: "directory", mode: 0o755, uid, gid, mtime: new Date() });
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** `--oracle`: solution/solve.sh in the agent's place, as the agent's user, with the agent's timeout. */
export async function runOracle(c: PhaseContext, timeoutS: number): Promise<ScriptRun> {
  const dir = c.harbor.solutionDir;
  if (!dir) return { exitCode: null, timedOut: false, seconds: 0 };
  await removePaths(c.engine, c.containerId, ["/solution"]);
  await uploadDir(c.engine, c.containerId, dir, "solution", c.inside);
  c.trace(`oracle: bash /solution/solve.sh as ${c.sandbox.user}`);
  return runScript(c.engine, c.containerId, {
    script: "/solution/solve.sh",
    user: c.sandbox.user,
    cwd: c.sandbox.workdir,
    env: c.sandbox.env,
    timeoutS,
    outputFile: "/logs/agent/oracle.txt",
  });
}
