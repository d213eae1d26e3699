/** A task's timers (FEATURES E7): defaults, overridden by the workflow, the role and the caller. */
export interface Timeouts {
  /** Hard wall-clock cap for the whole task, seconds. Default 7200. */
  hardS: number;
  /** No agent activity (event stream) for this long ends the task, seconds; null disables. Default 1200. */
  inactivityS: number | null;
  /** The structurer's own cap, seconds. Default 180. */
  structurerS: number;
  /** Sandbox start to ready, seconds. Default 90. */
  readyS: number;
}

export const DEFAULT_TIMEOUTS: Timeouts = { hardS: 7200, inactivityS: 1200, structurerS: 180, readyS: 90 };
