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

/**
 * An engine call's failure as a typed error. `answeredBefore`: the engine has answered this
 * process already, so a refused connection means it stopped, not that there never was one.
 */
export function engineError(endpoint: string, what: string, e: unknown, answeredBefore: boolean): OcboxError {
  if (e instanceof OcboxError) return e;
  if (isConnectionError(e))
    return answeredBefore ? engineStopped(endpoint, what, e) : engineUnavailable(endpoint, e);
  const code = statusCode(e);
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

/** An option ocbox needs that Podman's Docker-compatible API does not offer, and no equivalent. */
export function podmanGap(what: string, where: string[]): OcboxError {
  return new OcboxError("ENGINE", `Podman's Docker-compatible API has no ${what}`, {
    detail: where.join("\n"),
    fix: "Use Docker for this sandbox (DOCKER_HOST=unix:///var/run/docker.sock), or report it: ocbox maps every option it uses onto Podman, and this one is missing.",
  });
}
