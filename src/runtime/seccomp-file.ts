/**
 * A seccomp profile as a file, for engines that take `seccomp=` as a path on their host (Podman):
 * content-addressed under the user's cache dir, written whole (temp file, then rename), 0644 so
 * that a root engine and the user's own rootless engine can both read it.
 */
import { createHash } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { cacheHome } from "../util/paths.js";
import { replaceFileSync } from "../util/replace-file.js";

export function seccompProfileFile(json: string, env: NodeJS.ProcessEnv = process.env): string {
  const dir = join(cacheHome(env), "seccomp");
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const hash = createHash("sha256").update(json).digest("hex").slice(0, 32);
  const path = join(dir, `${hash}.json`);
  replaceFileSync(path, json, { mode: 0o644 });
  return path;
}
