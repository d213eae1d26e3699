/** The name and labels of a project's data volume (A3; data-volume.ts fills it). Pure. */
import { LABEL } from "../runtime/labels.js";

export const DATA_KIND = "data";

export function dataVolumeName(sandboxId: string): string {
  return `ocbox-${sandboxId}-data`;
}

/**
 * No owner and no run: the reaper never removes it (it outlives every run, as the cache volumes
 * do); `ocbox clean --state` does.
 */
export function dataVolumeLabels(sandboxId: string): Record<string, string> {
  return { [LABEL.managed]: "true", [LABEL.kind]: DATA_KIND, [LABEL.sandbox]: sandboxId };
}
