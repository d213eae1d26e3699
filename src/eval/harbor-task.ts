/**
 * A task folder in Harbor's layout, read unchanged: `task.toml` (config), `instruction.md` (the
 * prompt), `environment/` (the image's build context, or `[environment].docker_image`), `tests/`
 * (the verifier, `tests/test.sh`) and `solution/` (`solve.sh`, for `--oracle`). Compose-based
 * environments are not supported yet. Every problem is a TaskProblem with the file and line.
 */
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { parse as parseToml, TomlError } from "smol-toml";
import {
  APPLIED_VERIFIER_ENVIRONMENT,
  harborTaskTomlSchema,
  phaseNetworkPolicies,
  sizeToMb,
  unknownTaskTomlKeys,
  type HarborTaskToml,
  type NetworkPolicy,
} from "../config/harbor-task-schema.js";
import { locateTomlKey } from "../config/toml-source.js";
import { formatPath } from "../config/yaml-source.js";
import { realSubdir, TaskProblem } from "./task-problem.js";

export const HARBOR_TASK_FILE = "task.toml";

export type TaskEnvironment =
  | { kind: "dockerfile"; /** The build context: the task's `environment/`. */ context: string }
  | { kind: "image"; image: string };

export interface HarborTask {
  toml: HarborTaskToml;
  environment: TaskEnvironment;
  /** `tests/`: uploaded to `/tests` only after the agent has stopped. */
  testsDir: string;
  /** `solution/`, when it holds `solve.sh`. */
  solutionDir: string | undefined;
  network: { agent: NetworkPolicy; verifier: NetworkPolicy };
  /** What ocbox reads but does not apply (unknown keys, unsupported or unenforced ones), in words. */
  notices: string[];
}

const isFile = (p: string) =>
  stat(p).then(
    (s) => s.isFile(),
    () => false,
  );

/** The TOML text as a checked config; a syntax or schema problem names `file:line`. Pure. */
export function parseTaskToml(text: string, file: string): { toml: HarborTaskToml; unknown: string[] } {
  let raw: Record<string, unknown>;
  try {
    raw = parseToml(text);
  } catch (e) {
    if (!(e instanceof TomlError)) throw e;
    throw new TaskProblem({
      path: `${file}:${e.line}:${e.column}`,
      field: "(toml)",
      problem: `${e.message.split("\n")[0] ?? "invalid TOML"}: fix the TOML syntax there`,
    });
  }
  const parsed = harborTaskTomlSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path ?? [];
    throw new TaskProblem({
      path: `${file}:${locateTomlKey(text, path)}`,
      field: path.length ? formatPath(path) : "(top level)",
      problem: issue?.message ?? "invalid",
    });
  }
  const toml = parsed.data;
  const env = toml.environment;
  if (env.memory !== undefined) env.memory_mb = sizeToMb(env.memory);
  if (env.storage !== undefined) env.storage_mb = sizeToMb(env.storage);
  const vEnv = toml.verifier.environment;
  if (vEnv?.memory !== undefined) vEnv.memory_mb = sizeToMb(vEnv.memory);
  return { toml, unknown: unknownTaskTomlKeys(raw) };
}

/** What this task asks for that ocbox does not apply, one line each. Pure. */
export function taskNotices(toml: HarborTaskToml, raw: { unknown: string[]; text: string }): string[] {
  const env = toml.environment;
  const notes: string[] = [];
  if (raw.unknown.length) notes.push(`unknown key(s) kept, not used: ${raw.unknown.join(", ")}`);
  if (env.gpus > 0 || env.gpu_types?.length)
    notes.push("environment.gpus: not supported, the task runs without");
  if (env.mcp_servers.length)
    notes.push("environment.mcp_servers: not supported yet, not given to the agent");
  if (Object.keys(toml.solution.env).length) notes.push("solution.env: not supported, solve.sh runs without");
  if (env.healthcheck) notes.push("environment.healthcheck: not supported yet, not run");
  if (env.skills_dir) notes.push("environment.skills_dir: not supported, not copied");
  if (toml.artifacts.length)
    notes.push("artifacts: not collected (only /logs/agent, /logs/verifier and /logs/artifacts come back)");
  const applied: readonly string[] = APPLIED_VERIFIER_ENVIRONMENT;
  const vEnv = Object.keys(toml.verifier.environment ?? {}).filter((k) => !applied.includes(k));
  if (vEnv.length)
    notes.push(
      `verifier.environment: the separate verifier runs in the task's own image; applied: ${applied.join(", ")}; not applied: ${vEnv.join(", ")}`,
    );
  if (/^\s*storage(_mb)?\s*=/m.test(raw.text))
    notes.push("environment.storage_mb: not enforced (overlay2 over ext4 has no per-container quota)");
  return notes;
}

async function environmentOf(dir: string, toml: HarborTaskToml, file: string): Promise<TaskEnvironment> {
  const envDir = await realSubdir(dir, "environment");
  for (const name of ["docker-compose.yaml", "docker-compose.yml", "compose.yaml"])
    if (envDir && (await isFile(join(envDir, name))))
      throw new TaskProblem({
        path: join(envDir, name),
        field: "environment",
        problem: "compose-based environments are not supported yet: give the task one environment/Dockerfile",
      });
  if (toml.environment.docker_image) return { kind: "image", image: toml.environment.docker_image };
  if (envDir && (await isFile(join(envDir, "Dockerfile")))) return { kind: "dockerfile", context: envDir };
  throw new TaskProblem({
    path: join(dir, "environment", "Dockerfile"),
    field: "environment",
    problem: `missing: write environment/Dockerfile, or set [environment] docker_image in ${file}`,
  });
}

async function requiredText(file: string, field: string, what: string): Promise<string> {
  const text = await readFile(file, "utf8").catch(() => undefined);
  if (text === undefined) throw new TaskProblem({ path: file, field, problem: `missing: ${what}` });
  if (!text.trim()) throw new TaskProblem({ path: file, field, problem: `empty: ${what}` });
  return text;
}

/** The Harbor task in `dir`, checked; the prompt is `instruction.md`. */
export async function loadHarborTask(dir: string): Promise<{ prompt: string; harbor: HarborTask }> {
  const file = join(dir, HARBOR_TASK_FILE);
  const text = await readFile(file, "utf8");
  const { toml, unknown } = parseTaskToml(text, file);
  const prompt = await requiredText(join(dir, "instruction.md"), "instruction.md", "write the task into it");
  const environment = await environmentOf(dir, toml, file);
  if (toml.verifier.environment?.docker_image !== undefined)
    throw new TaskProblem({
      path: `${file}:${locateTomlKey(text, ["verifier", "environment", "docker_image"])}`,
      field: "verifier.environment.docker_image",
      problem:
        "a verifier image of its own is not supported yet: remove it (the separate verifier then runs in the task's image)",
    });
  const testsDir = await realSubdir(dir, "tests");
  if (!testsDir || !(await isFile(join(testsDir, "test.sh"))))
    throw new TaskProblem({
      path: join(dir, "tests", "test.sh"),
      field: "tests",
      problem: "missing: write tests/test.sh, the verifier that writes /logs/verifier/reward.txt",
    });
  const solution = await realSubdir(dir, "solution");
  const solutionDir = solution && (await isFile(join(solution, "solve.sh"))) ? solution : undefined;
  return {
    prompt,
    harbor: {
      toml,
      environment,
      testsDir,
      solutionDir,
      network: phaseNetworkPolicies(toml),
      notices: taskNotices(toml, { unknown, text }),
    },
  };
}
