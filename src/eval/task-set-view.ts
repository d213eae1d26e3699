/**
 * `ocbox eval tasks`: a task set as data a person or a program reads, one entry per task, with
 * each Harbor task's environment, limits, network policy per phase and what ocbox does not apply.
 * Pure.
 */
import type { NetworkPolicy } from "../config/harbor-task-schema.js";
import type { InvalidTask, TaskFormat, TaskSet } from "./task-set.js";

export interface TaskView {
  id: string;
  format: TaskFormat;
  /** `image NAME`, `build environment/Dockerfile`, or `ocbox sandbox image` for ocbox's format. */
  environment: string;
  timeoutS: number | null;
  network: { agent: NetworkPolicy; verifier: NetworkPolicy } | null;
  oracle: boolean;
  notices: string[];
}

export interface TaskSetView {
  tasks: TaskView[];
  invalid: InvalidTask[];
}

export function viewTaskSet(set: TaskSet): TaskSetView {
  return {
    tasks: set.tasks.map((t) => {
      const h = t.harbor;
      return {
        id: t.id,
        format: t.format,
        environment: !h
          ? "ocbox sandbox image"
          : h.environment.kind === "image"
            ? `image ${h.environment.image}`
            : "build environment/Dockerfile",
        timeoutS: t.config.timeoutS ?? null,
        network: h?.network ?? null,
        oracle: h?.solutionDir !== undefined,
        notices: h?.notices ?? [],
      };
    }),
    invalid: set.invalid,
  };
}

const policy = (p: NetworkPolicy) =>
  p.mode === "allowlist" ? `allowlist ${p.allowedHosts.join(" ")}` : p.mode;

/** One line per task (and per notice and invalid task), for the terminal. */
export function taskSetLines(view: TaskSetView): string[] {
  const lines: string[] = [];
  for (const t of view.tasks) {
    const net = t.network
      ? `, agent network ${policy(t.network.agent)}, verifier ${policy(t.network.verifier)}`
      : "";
    lines.push(
      `${t.id}: ${t.format}, ${t.environment}${t.timeoutS !== null ? `, agent cap ${t.timeoutS} s` : ""}${net}${t.format === "harbor" && !t.oracle ? ", no solution/solve.sh" : ""}`,
    );
    for (const n of t.notices) lines.push(`  note: ${n}`);
  }
  for (const bad of view.invalid) lines.push(`invalid ${bad.id}: ${bad.path}: ${bad.field}: ${bad.problem}`);
  lines.push(`${view.tasks.length} task(s), ${view.invalid.length} invalid`);
  return lines;
}
