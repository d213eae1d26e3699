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
      "engine's socket). Use copy mode: `--copy`, or `workspace.mode: copy` in ocbox.yaml (the",
      "workspace is copied in through the engine API and the agent's work synced back). Or keep the",
      "workspace in a folder the engine shares (Docker Desktop: Settings > Resources > File sharing;",
      "Colima: `colima start --mount`), or run ocbox where the engine runs.",
    ].join("\n"),
  });
}

/** Whether an engine failure (raw or typed) is a bind of a path the engine cannot see. */
export function pathNotVisible(e: unknown): boolean {
  const texts = [errorMessage(e), e instanceof OcboxError ? (e.detail ?? "") : ""];
  return texts.some((t) => missingBindSource(t) !== undefined || engineCause(t)?.kind === "path-not-visible");
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
  const cause = engineCause(errorMessage(e));
  if (cause)
    return new OcboxError("ENGINE", `the engine at ${endpoint} refused to ${what}: ${cause.message}`, {
      cause: e,
      detail: errorMessage(e),
      fix: cause.fix,
    });
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

export interface EngineCause {
  kind: "path-not-visible" | "podman-gap" | "rlimit" | "rootless";
  message: string;
  fix: string;
}

const RLIMITS: Record<string, string> = { "4": "core", "6": "nproc", "7": "nofile" };

/**
 * What an engine's refusal means, told as its real cause (issue 14 item 5): a path the engine
 * cannot see, an option Podman's compat API takes differently, a limit the engine may not raise,
 * a rootless engine's limit. Undefined for any other message. Pure.
 */
export function engineCause(text: string): EngineCause | undefined {
  const path =
    /bind source path does not exist: (\S+)/.exec(text) ??
    /statfs (\S+): no such file or directory/.exec(text) ??
    /mount(?:ing)? ["']?(\/\S+?)["']?[: ].*no such file or directory/i.exec(text);
  if (path)
    return {
      kind: "path-not-visible",
      message: `it cannot see ${path[1]} (the engine runs on another machine or in a VM, or that path is not shared with it)`,
      fix: [
        "The engine mounts paths of its own host, not of this machine. Use copy mode for the",
        "workspace (`--copy`, or `workspace.mode: copy` in ocbox.yaml), share the path with the engine",
        "(Docker Desktop: Settings > Resources > File sharing; Colima: `colima start --mount`; Podman",
        "machine: `podman machine init -v`), or run ocbox where the engine runs.",
      ].join("\n"),
    };
  const rlimit = /error setting rlimit type (\d+): operation not permitted/.exec(text);
  if (rlimit) {
    const name = RLIMITS[rlimit[1] ?? ""] ?? `type ${rlimit[1]}`;
    return {
      kind: "rlimit",
      message: `the engine may not raise the container's ${name} limit above its own hard limit`,
      fix: [
        "The engine runs without CAP_SYS_RESOURCE (inside a container or a restricted VM), so no",
        `container may get a higher ${name} limit than the engine itself. Lower the limit (ocbox.yaml`,
        "limits.nofile), or raise the engine's own limit (LimitNOFILE/LimitNPROC of its service).",
      ].join("\n"),
    };
  }
  const gap =
    /volume options size and inodes not supported/.exec(text) ??
    /unknown mount option "([^"]+)"/.exec(text) ??
    /opening seccomp profile failed/.exec(text);
  if (gap)
    return {
      kind: "podman-gap",
      message: `Podman's Docker-compatible API does not take this option as Docker does (${gap[0]})`,
      fix:
        "ocbox translates the options it knows differ on Podman (engine-capabilities.ts); this one " +
        "slipped through. Report it with `ocbox check`'s output, or use Docker for now.",
    };
  if (/rootless/i.test(text))
    return {
      kind: "rootless",
      message: "a rootless engine cannot do this",
      fix:
        "A rootless engine runs as an ordinary user: no cgroups on cgroup v1, no ports below 1024, " +
        "no paths the user cannot read. Use rootful Podman or Docker for this sandbox.",
    };
  return undefined;
}
