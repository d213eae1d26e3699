/**
 * Where `ocbox up` mounts the project inside its sandbox: `/<sandbox name>`, as the seed tool
 * did, so the web UI, the session list and every path the agent prints carry the project's own
 * name. A name that would sit on a system path of the image (or on ocbox's own dirs) is refused
 * with a fix. `run` and eval keep the fixed `/workspace`. Pure.
 */
import type { Problem } from "./checks.js";

/**
 * Top-level dirs of a Debian system, of common base images and of ocbox itself: a workspace
 * mounted over one of them would hide the system (or be hidden by it).
 */
export const RESERVED_TOP_DIRS: readonly string[] = [
  "app",
  "bin",
  "boot",
  "dev",
  "etc",
  "home",
  "lib",
  "lib32",
  "lib64",
  "libx32",
  "media",
  "mnt",
  "nix",
  "opt",
  "proc",
  "root",
  "run",
  "sbin",
  "snap",
  "srv",
  "sys",
  "tmp",
  "usr",
  "var",
  "workspace",
];

/** The mount point of a project named `name` (already a valid sandbox name). */
export function workspaceMountFor(name: string): string {
  return `/${name}`;
}

/** Why `name` cannot be the project's mount point inside the sandbox, if it cannot. */
export function workspaceNameProblem(name: string): Problem | undefined {
  if (!RESERVED_TOP_DIRS.includes(name)) return undefined;
  return {
    problem: `the name ${name} would mount the project at /${name}, a system path inside the sandbox`,
    fix: `choose another name, for example \`name: ${name}-project\``,
  };
}
