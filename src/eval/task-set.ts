/**
 * A task set: every sub-folder of the tasks dir is a task in one of two formats, told apart by its
 * files: Harbor's (`task.toml`, see harbor-task.ts) or ocbox's (`prompt.md`, `requirements.yaml`,
 * optional `task.yaml` and `app/`). A task that does not validate is reported with its path, line
 * and field, then skipped and counted; it never stops the run. A folder with neither is no task.
 */
import { readFile, readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { LineCounter, parseDocument } from "yaml";
import type { z } from "zod";
import { formatPath, locate } from "../config/yaml-source.js";
import { OcboxError } from "../errors.js";
import { treeDigest } from "./digest.js";
import { HARBOR_TASK_FILE, loadHarborTask, type HarborTask } from "./harbor-task.js";
import { realSubdir, TaskProblem, type InvalidTask } from "./task-problem.js";
import { requirementsSchema, taskFileSchema, type Requirement, type TaskFile } from "./task-schema.js";

export type TaskFormat = "ocbox" | "harbor";

export interface TaskDef {
  id: string;
  format: TaskFormat;
  dir: string;
  prompt: string;
  /** The starting workspace (`app/`), or undefined for a task that starts empty. */
  app: string | undefined;
  requirements: Requirement[];
  config: TaskFile;
  /** sha256 of the whole task folder. */
  digest: string;
  /** A Harbor task's environment, verifier, solution and network policy. */
  harbor?: HarborTask;
}

export type { InvalidTask };

export interface TaskSet {
  tasks: TaskDef[];
  invalid: InvalidTask[];
}

/** Parse a YAML file against a schema; the first problem as a TaskProblem with file:line:col. Pure. */
export function parseYamlFile<S extends z.ZodType>(text: string, file: string, schema: S): z.infer<S> {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true });
  const syntax = doc.errors[0];
  if (syntax) {
    const pos = lines.linePos(syntax.pos[0]);
    throw new TaskProblem({
      path: `${file}:${pos.line}:${pos.col}`,
      field: "(yaml)",
      problem: (syntax.message.split("\n")[0] ?? syntax.message).replace(/ at line \d+, column \d+:?$/, ""),
    });
  }
  const parsed = schema.safeParse(doc.toJS() ?? undefined);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const path = issue?.path ?? [];
  const at = locate(doc, lines, path);
  throw new TaskProblem({
    path: `${file}:${at.line}:${at.col}`,
    field: path.length ? formatPath(path) : "(top level)",
    problem: issue?.message ?? "invalid",
  });
}

const exists = (p: string) =>
  stat(p).then(
    (s) => s,
    () => undefined,
  );

export async function loadTask(dir: string, id: string): Promise<TaskDef> {
  const promptFile = join(dir, "prompt.md");
  const prompt = await readFile(promptFile, "utf8").catch(() => undefined);
  if (prompt === undefined)
    throw new TaskProblem({
      path: promptFile,
      field: "prompt.md",
      problem: "missing: write the task into it",
    });
  if (!prompt.trim()) throw new TaskProblem({ path: promptFile, field: "prompt.md", problem: "empty" });

  const reqFile = join(dir, "requirements.yaml");
  const reqText = await readFile(reqFile, "utf8").catch(() => undefined);
  if (reqText === undefined)
    throw new TaskProblem({ path: reqFile, field: "requirements.yaml", problem: "missing" });
  const requirements = parseYamlFile(reqText, reqFile, requirementsSchema);

  const taskFile = join(dir, "task.yaml");
  const taskText = await readFile(taskFile, "utf8").catch(() => undefined);
  const config = taskText === undefined ? {} : parseYamlFile(taskText, taskFile, taskFileSchema);

  const app = await realSubdir(dir, "app");
  return {
    id,
    format: "ocbox",
    dir,
    prompt,
    app,
    requirements,
    config,
    digest: await treeDigest(dir),
  };
}

/** `*` matches within a name, `?` one character; several globs separated by commas. Pure. */
export function globMatcher(globs: string | undefined): (id: string) => boolean {
  if (!globs) return () => true;
  const res = globs
    .split(",")
    .map((g) => g.trim())
    .filter(Boolean)
    .map(
      (g) =>
        new RegExp(
          `^${g
            .replace(/[.+^${}()|[\]\\]/g, "\\$&")
            .replace(/\*/g, ".*")
            .replace(/\?/g, ".")}$`,
        ),
    );
  return (id) => res.some((r) => r.test(id));
}

/** A Harbor task as a TaskDef: the agent starts in the image's own WORKDIR (no `app/`). */
async function loadHarborTaskDef(dir: string, id: string): Promise<TaskDef> {
  const { prompt, harbor } = await loadHarborTask(dir);
  const reqFile = join(dir, "requirements.yaml");
  const reqText = await readFile(reqFile, "utf8").catch(() => undefined);
  const timeoutS = harbor.toml.agent.timeout_sec;
  return {
    id,
    format: "harbor",
    dir,
    prompt,
    app: undefined,
    requirements: reqText === undefined ? [] : parseYamlFile(reqText, reqFile, requirementsSchema),
    config: timeoutS === undefined ? {} : { timeoutS },
    digest: await treeDigest(dir),
    harbor,
  };
}

/** The format a task folder is in, by its files; undefined for a folder that holds no task. */
async function formatOf(dir: string): Promise<TaskFormat | undefined> {
  if (await exists(join(dir, HARBOR_TASK_FILE))) return "harbor";
  if ((await exists(join(dir, "prompt.md"))) || (await exists(join(dir, "requirements.yaml"))))
    return "ocbox";
  return undefined;
}

export interface TaskSetOptions {
  /** Globs on task ids (see globMatcher). */
  filter?: string | undefined;
  /** Only the first N task folders (in id order) that match the filter. */
  limit?: number | undefined;
}

export async function loadTaskSet(tasksDir: string, options: TaskSetOptions = {}): Promise<TaskSet> {
  const entries = await readdir(tasksDir, { withFileTypes: true }).catch((e: unknown) => {
    throw new OcboxError("USAGE", `cannot read the tasks dir ${tasksDir}`, {
      cause: e,
      fix: "Give --tasks a folder with one sub-folder per task.",
    });
  });
  const match = globMatcher(options.filter);
  const set: TaskSet = { tasks: [], invalid: [] };
  const names = entries
    .filter((e) => e.isDirectory() && !e.name.startsWith("."))
    .map((e) => e.name)
    .sort();
  for (const id of names) {
    if (options.limit !== undefined && set.tasks.length + set.invalid.length >= options.limit) break;
    if (!match(id)) continue;
    const dir = join(tasksDir, id);
    const format = await formatOf(dir);
    if (!format) continue;
    try {
      set.tasks.push(await (format === "harbor" ? loadHarborTaskDef(dir, id) : loadTask(dir, id)));
    } catch (e) {
      if (!(e instanceof TaskProblem)) throw e;
      set.invalid.push({ id, ...e.issue });
    }
  }
  return set;
}
