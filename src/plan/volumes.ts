/** The library's `volumes` option (E11), checked like ocbox.yaml's key. Pure. */
import { normalizeVolumePath, volumeListProblems, volumePathProblem } from "../config/volume-paths.js";
import { OcboxError } from "../errors.js";

export function checkVolumes(paths: readonly string[]): string[] {
  const problems = [
    ...paths.flatMap((p, index) => {
      const found = volumePathProblem(p);
      return found ? [{ index, ...found }] : [];
    }),
  ];
  if (problems.length === 0) problems.push(...volumeListProblems(paths));
  const first = problems[0];
  if (first) {
    throw new OcboxError("USAGE", `volumes[${first.index}] ${first.problem}`, { fix: first.fix });
  }
  return paths.map(normalizeVolumePath);
}
