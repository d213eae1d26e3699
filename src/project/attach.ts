/**
 * `ocbox attach`: OpenCode's own terminal UI on the host, attached to the sandbox's server
 * (`opencode attach URL`). The password reaches it in its environment (OPENCODE_SERVER_PASSWORD),
 * which only the same user can read, never in argv. The binary is the pinned one ocbox ships.
 */
import { spawn } from "node:child_process";
import { OcboxError } from "../errors.js";
import { WORKSPACE } from "../image/dockerfile.js";
import { findOpencodeBinary } from "../image/opencode-binary.js";

/** argv for `opencode attach` in the project's dir inside (`dir`); no secret in it. Pure. */
export function attachArgv(
  binary: string,
  url: string,
  extra: readonly string[] = [],
  dir: string = WORKSPACE,
): string[] {
  return [binary, "attach", url, "--dir", dir, ...extra];
}

export function hostOpencodeBinary(): string {
  if (process.platform !== "linux") return "opencode";
  return findOpencodeBinary(process.arch).path;
}

export function runAttach(
  url: string,
  password: string,
  extra: readonly string[] = [],
  dir: string = WORKSPACE,
): Promise<number> {
  const [cmd, ...args] = attachArgv(hostOpencodeBinary(), url, extra, dir);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd as string, args, {
      stdio: "inherit",
      env: { ...process.env, OPENCODE_SERVER_PASSWORD: password, OPENCODE_SERVER_USERNAME: "opencode" },
    });
    child.once("error", (e) =>
      reject(
        new OcboxError("USAGE", `cannot run opencode: ${e.message}`, {
          fix: "install opencode on this host (npm i -g opencode-ai) or use `ocbox web`",
        }),
      ),
    );
    child.once("close", (code, signal) => resolve(code ?? (signal ? 130 : 1)));
  });
}
