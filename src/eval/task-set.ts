/**
 * A task set: every sub-folder of the tasks dir that holds a `prompt.md` or a
 * `requirements.yaml` is a task. A task that does not validate is reported with its path, line and
 * field, then skipped and counted; it never stops the run.
 */
import { lstat, readFile, readdir, readlink, realpath, stat } from "node:fs/promises";
import { join } from "node:path";
import { LineCounter, parseDocument } from "yaml";
import type { z } from "zod";
import { formatPath, locate } from "../config/yaml-source.js";
import { OcboxError } from "../errors.js";
import { treeDigest } from "./digest.js";
import { requirementsSchema, taskFileSchema, type Requirement, type TaskFile } from "./task-schema.js";

export interface TaskDef {
  id: string;
  dir: string;
  prompt: string;
  /** The starting workspace (`app/`), or undefined for a task that starts empty. */
  app: string | undefined;
  requirements: Requirement[];
  config: TaskFile;
  /** sha256 of the whole task folder. */
  digest: string;
}

export interface InvalidTask {
  id: string;
  /** file:line:col when known. */
  path: string;
  field: string;
  problem: string;
}

export interface TaskSet {
  tasks: TaskDef[];
  invalid: InvalidTask[];
}

class TaskProblem extends Error {
  constructor(readonly issue: Omit<InvalidTask, "id">) {
    super(issue.problem);
  }
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

/**
 * The task's `app/`: a real dir inside the task folder, never a link (a link to `~/.ssh` would
 * be copied, or mounted, as the agent's workspace). Undefined when there is none.
 */
async function realAppDir(dir: string, appDir: string): Promise<string | undefined> {
  const st = await lstat(appDir).catch((e: unknown) => {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  });
  if (!st) return undefined;
  if (st.isSymbolicLink())
    throw new TaskProblem({
      path: appDir,
      field: "app",
      problem: `is a symbolic link (to ${await readlink(appDir)}): make app/ a real folder inside the task folder`,
    });
  if (!st.isDirectory()) throw new TaskProblem({ path: appDir, field: "app", problem: "not a directory" });
  const [real, realTask] = await Promise.all([realpath(appDir), realpath(dir)]);
  if (real !== join(realTask, "app"))
    throw new TaskProblem({
      path: appDir,
      field: "app",
      problem: `resolves to ${real}, outside the task folder: make app/ a real folder inside it`,
    });
  return real;
}

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

  const appDir = join(dir, "app");
  const app = await realAppDir(dir, appDir);
  return {
    id,
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

export async function loadTaskSet(tasksDir: string, filter?: string): Promise<TaskSet> {
  const entries = await readdir(tasksDir, { withFileTypes: true }).catch((e: unknown) => {
    throw new OcboxError("USAGE", `cannot read the tasks dir ${tasksDir}`, {
      cause: e,
      fix: "Give --tasks a folder with one sub-folder per task.",
    });
  });
  const match = globMatcher(filter);
  const set: TaskSet = { tasks: [], invalid: [] };
  const names = entries
    .filter((e) => e.isDirectory() && !e.name.startsWith("."))
    .map((e) => e.name)
    .sort();
  for (const id of names) {
    if (!match(id)) continue;
    const dir = join(tasksDir, id);
    if (!(await exists(join(dir, "prompt.md"))) && !(await exists(join(dir, "requirements.yaml")))) continue;
    try {
      set.tasks.push(await loadTask(dir, id));
    } catch (e) {
      if (!(e instanceof TaskProblem)) throw e;
      set.invalid.push({ id, ...e.issue });
    }
  }
  return set;
}
