/**
 * Why one task folder is not a valid task: the file (with `:line:col` when known), the field and
 * the problem. Thrown while a task loads, caught by the task set, which skips and counts the task.
 */
import { lstat, readlink, realpath } from "node:fs/promises";
import { join } from "node:path";

export interface InvalidTask {
  id: string;
  /** file:line:col when known. */
  path: string;
  field: string;
  problem: string;
}

export class TaskProblem extends Error {
  constructor(readonly issue: Omit<InvalidTask, "id">) {
    super(issue.problem);
  }
}

/**
 * `<dir>/<name>` as a real folder inside the task folder, never a link (a link to `~/.ssh` would
 * be copied, mounted or sent to the engine as a build context). Undefined when there is none.
 */
export async function realSubdir(dir: string, name: string): Promise<string | undefined> {
  const sub = join(dir, name);
  const st = await lstat(sub).catch((e: unknown) => {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  });
  if (!st) return undefined;
  if (st.isSymbolicLink())
    throw new TaskProblem({
      path: sub,
      field: name,
      problem: `is a symbolic link (to ${await readlink(sub)}): make ${name}/ a real folder inside the task folder`,
    });
  if (!st.isDirectory()) throw new TaskProblem({ path: sub, field: name, problem: "not a directory" });
  const [real, realTask] = await Promise.all([realpath(sub), realpath(dir)]);
  if (real !== join(realTask, name))
    throw new TaskProblem({
      path: sub,
      field: name,
      problem: `resolves to ${real}, outside the task folder: make ${name}/ a real folder inside it`,
    });
  return real;
}
