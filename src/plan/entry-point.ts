/**
 * The front doors that plan a sandbox. `up` is a person at a terminal; the rest run unattended
 * (nobody answers a question the agent's tools ask).
 */
export const ENTRY_POINTS = ["up", "run", "eval-run", "eval-judge", "bridge", "service"] as const;
export type EntryPoint = (typeof ENTRY_POINTS)[number];

export const isUnattended = (entry: EntryPoint): boolean => entry !== "up";
