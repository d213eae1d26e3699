/**
 * What an engine failure is, told as what it is (issue 17, failure 7). Pure: an error from the
 * engine client in, a typed OcboxError out. Callers catch only the statuses they mean (404 gone,
 * 304 not modified, 409 removal in progress) before this; everything else reaches the user here.
 */
import { OcboxError, errorMessage } from "../errors.js";
import { engineUnavailable, isConnectionError } from "./connect.js";

/** The HTTP status of an engine API error (dockerode's `statusCode`), if it has one. */
export function statusCode(e: unknown): number | undefined {
  const code = (e as { statusCode?: unknown } | undefined)?.statusCode;
  return typeof code === "number" ? code : undefined;
}

/** The engine answered before and now refuses or drops the connection. */
export function engineStopped(endpoint: string, what: string, cause: unknown): OcboxError {
  return new OcboxError("ENGINE_UNAVAILABLE", `the engine at ${endpoint} stopped answering (${what})`, {
    cause,
    detail: errorMessage(cause),
    fix: [
      "The engine went away in the middle of the command: check that it still runs",
      "(`systemctl status docker`, `podman machine list`, or the remote host of DOCKER_HOST),",
      "then run the command again. Sandboxes of a process that is gone are removed by `ocbox clean`.",
    ].join("\n"),
  });
}

/** The host path in an engine's "bind source path does not exist" refusal, if that is what it is. */
export function missingBindSource(e: unknown): string | undefined {
  return /bind source path does not exist: (\S+)/.exec(errorMessage(e))?.[1];
}

/**
 * The engine cannot see a path of this machine: it runs elsewhere (a remote DOCKER_HOST, Docker
 * Desktop, Colima, a Podman machine) or this ocbox runs in a container with only the socket.
 */
export function engineCannotSee(endpoint: string, path: string, cause: unknown): OcboxError {
  return new OcboxError("ENGINE", `the engine at ${endpoint} cannot see ${path} on this machine`, {
    cause,
    detail: errorMessage(cause),
    fix: [
      "The engine does not share this machine's files (a remote DOCKER_HOST, Docker Desktop or",
      "Colima outside their shared folders, a Podman machine, or ocbox in a container with only the",
      "engine's socket). Run ocbox where the engine runs, or keep the workspace in a folder the engine",
      "shares (Docker Desktop: Settings > Resources > File sharing; Colima: `colima start --mount`).",
    ].join("\n"),
  });
}

/**
 * An engine call's failure as a typed error. `answeredBefore`: the engine has answered this
 * process already, so a refused connection means it stopped, not that there never was one.
 */
export function engineError(endpoint: string, what: string, e: unknown, answeredBefore: boolean): OcboxError {
  if (e instanceof OcboxError) return e;
  if (isConnectionError(e))
    return answeredBefore ? engineStopped(endpoint, what, e) : engineUnavailable(endpoint, e);
  const code = statusCode(e);
  const unseen = missingBindSource(e);
  if (unseen !== undefined) return engineCannotSee(endpoint, unseen, e);
  return new OcboxError(
    "ENGINE",
    `the engine at ${endpoint} refused to ${what}${code === undefined ? "" : ` (HTTP ${code})`}`,
    {
      cause: e,
      detail: errorMessage(e),
      fix: "Read the engine's message above; `ocbox check` shows the engine and its version.",
    },
  );
}
