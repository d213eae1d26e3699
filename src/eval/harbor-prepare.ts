/**
 * Before any Harbor unit runs: each task's image built (or found), the OpenCode payload volume
 * made once, and each image probed (libc loader, USER, WORKDIR), giving the facts the planner
 * turns into the task's sandbox (plan/task-image-plan.ts). A task whose image cannot be made or
 * cannot host the payload fails alone, with the reason.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { locateTomlKey } from "../config/toml-source.js";
import { ensurePayload } from "../image/payload.js";
import { opencodeRuntime, probeTaskImage } from "../image/task-image-probe.js";
import { passwdEntries, taskUser, TaskUserError, type TaskImageFacts } from "../plan/task-image-plan.js";
import type { Engine } from "../runtime/engine.js";
import { runtimeProblem } from "../runtime/runtime-check.js";
import type { InvalidTask } from "./task-problem.js";
import { buildTaskImages, taskSetApprovalFiles } from "./task-images.js";
import type { TaskDef } from "./task-set.js";

export type HarborEnvironment =
  | {
      ok: true;
      facts: TaskImageFacts;
      build: { seconds: number; cached: boolean };
    }
  | {
      ok: false;
      error: string;
      /** The task itself is wrong (an `[agent].user` its image does not have): counted invalid. */
      invalid?: InvalidTask;
    };

/** The task set's task.toml and Dockerfile bytes, for the approval check (kinds as approval names them). */
export async function harborApprovalFiles(
  tasks: readonly TaskDef[],
): Promise<Array<{ kind: "task-toml" | "task-dockerfile"; path: string; text: string }>> {
  const out: Array<{ kind: "task-toml" | "task-dockerfile"; path: string; text: string }> = [];
  for (const f of taskSetApprovalFiles(tasks))
    out.push({
      kind: f.kind === "task.toml" ? "task-toml" : "task-dockerfile",
      path: f.path,
      text: await readFile(f.path, "utf8"),
    });
  return out;
}

export async function prepareHarborTasks(
  engine: Engine,
  tasks: readonly TaskDef[],
  o: {
    sandboxImage: string;
    signal?: AbortSignal | undefined;
    onLine?: (task: string, line: string) => void;
  },
): Promise<{
  environments: Map<string, HarborEnvironment>;
  payload: { volume: string; seconds: number; made: boolean };
}> {
  const payload = await ensurePayload(engine, o.sandboxImage);
  const gvisor = await gvisorRuntimes(engine);
  const images = await buildTaskImages(engine, tasks, {
    ...(o.signal ? { signal: o.signal } : {}),
    ...(o.onLine ? { onLine: o.onLine } : {}),
  });
  const environments = new Map<string, HarborEnvironment>();
  for (const t of tasks) {
    const h = t.harbor;
    const img = images.get(t.id);
    if (!h || !img) continue;
    if (!img.ok) {
      environments.set(t.id, { ok: false, error: img.error });
      continue;
    }
    const probe = await probeTaskImage(engine, img.tag);
    const runtime = opencodeRuntime(probe);
    if (runtime.kind === "unsupported") {
      environments.set(t.id, {
        ok: false,
        error: `task ${t.id}: OpenCode cannot run in ${img.tag}: ${runtime.why}`,
      });
      continue;
    }
    const env = h.toml.environment;
    const passwd = passwdEntries(probe.passwd);
    const userProblem = await agentUserProblem(t, { imageUser: probe.user, passwd });
    if (userProblem) {
      environments.set(t.id, {
        ok: false,
        error: `task ${t.id}: ${userProblem.problem}`,
        invalid: userProblem,
      });
      continue;
    }
    environments.set(t.id, {
      ok: true,
      build: { seconds: img.built ? img.seconds : 0, cached: !img.built },
      facts: {
        passwd,
        gvisorRuntimes: gvisor,
        image: img.tag,
        imageUser: probe.user,
        imageWorkdir: probe.workdir,
        lib64FromPayload: runtime.kind === "glibc-from-payload",
        payloadVolume: payload.volume,
        bash: probe.bash,
        agentUser: h.toml.agent.user,
        workdir: env.workdir,
        cpus: env.cpus,
        memoryMb: env.memory_mb,
        env: env.env,
      },
    });
  }
  return { environments, payload };
}

/** The engine's runtimes that are gVisor registered as ocbox needs (for root tasks, `auto`). */
async function gvisorRuntimes(engine: Engine): Promise<string[]> {
  const { runtimes } = await engine.capabilities();
  return Object.keys(runtimes ?? {})
    .filter((name) => runtimeProblem(name, runtimes) === undefined)
    .sort();
}

/** `[agent].user` as the image knows it, or why the task is invalid (file:line, field, fix). */
async function agentUserProblem(
  t: TaskDef,
  f: Pick<TaskImageFacts, "imageUser" | "passwd">,
): Promise<InvalidTask | undefined> {
  const agentUser = t.harbor?.toml.agent.user;
  try {
    taskUser({ ...f, agentUser });
    return undefined;
  } catch (e) {
    if (!(e instanceof TaskUserError)) throw e;
    const file = join(t.dir, "task.toml");
    const explicit = agentUser !== undefined;
    const text = explicit ? await readFile(file, "utf8") : "";
    return {
      id: t.id,
      path: explicit ? `${file}:${locateTomlKey(text, ["agent", "user"])}` : file,
      field: explicit ? "agent.user" : "(image USER)",
      problem: `${e.message}: give [agent].user as a user the image has, or as a numeric uid`,
    };
  }
}
