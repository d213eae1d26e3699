/**
 * Where the approval of capability-granting files (ocbox.yaml, opencode.json(c), hook, workflow)
 * enters the plan (ARCHITECTURE decision 8). Today `ocbox up` asks and records it before it plans
 * (project/approval.ts) and the other entry points do not check; the planner records which. The
 * next step moves the decision itself in here, the same for every entry point.
 */
export type ApprovalState =
  /** The caller (`ocbox up`) checked the hook and ocbox.yaml against its approval record. */
  | { kind: "checked-by-caller" }
  /** Nothing was checked (run, eval, judge, bridge, service today). */
  | { kind: "not-checked" };

export const NOT_CHECKED: ApprovalState = { kind: "not-checked" };
