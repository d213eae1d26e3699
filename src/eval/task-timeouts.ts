/**
 * `--timeout-multiplier F` (as benchmark runs need on slower machines): every timeout a task
 * sets, scaled by F: the agent's cap (task.yaml `timeoutS`, task.toml `[agent] timeout_sec`), the
 * check's, the verifier's and the image build's. Pure.
 */
import type { TaskDef } from "./task-set.js";

export function scaleTaskTimeouts(task: TaskDef, f: number): TaskDef {
  if (f === 1) return task;
  const { config, harbor } = task;
  const toml = harbor?.toml;
  return {
    ...task,
    config: {
      ...config,
      ...(config.timeoutS !== undefined ? { timeoutS: config.timeoutS * f } : {}),
      ...(config.check ? { check: { ...config.check, timeoutS: config.check.timeoutS * f } } : {}),
    },
    ...(harbor && toml
      ? {
          harbor: {
            ...harbor,
            toml: {
              ...toml,
              agent: {
                ...toml.agent,
                ...(toml.agent.timeout_sec !== undefined ? { timeout_sec: toml.agent.timeout_sec * f } : {}),
              },
              verifier: { ...toml.verifier, timeout_sec: toml.verifier.timeout_sec * f },
              environment: { ...toml.environment, build_timeout_sec: toml.environment.build_timeout_sec * f },
            },
          },
        }
      : {}),
  };
}
