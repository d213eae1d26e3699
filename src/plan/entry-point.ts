/**
 * The front doors that plan a sandbox. `up` is a person at a terminal; the rest run unattended
 * (nobody answers a question the agent's tools ask) and get the same spec: `run` (ocbox run,
 * runTask's default), `eval-run`, `eval-judge`, `bridge` (the MCP bridge) and `service` (`ocbox serve`,
 * the local task service, passes it to runTask). What differs
 * on purpose is named in test/unit/plan.test.ts (ON_PURPOSE).
 */
export const ENTRY_POINTS = ["up", "run", "eval-run", "eval-judge", "bridge", "service"] as const;
export type EntryPoint = (typeof ENTRY_POINTS)[number];

export const isUnattended = (entry: EntryPoint): boolean => entry !== "up";
