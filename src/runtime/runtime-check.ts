/**
 * The check behind `hardening.runtime` (SECURITY.md, the gVisor tier): the named runtime is
 * gVisor's `runsc`, registered in the engine with the flags the agent container needs. A runtime's
 * flags are set where the engine registers it (daemon.json `runtimes`), never per container, so a
 * runtime registered without them is refused with the exact entry to add. Pure: it reads the
 * engine's /info `Runtimes` as data.
 */
import { OcboxError } from "../errors.js";
import type { RegisteredRuntime } from "./engine-capabilities.js";

/**
 * The flags runsc needs, and why:
 * - `--network=none`: runsc refuses to start a container in the host's root network namespace
 *   with its own network stack; the agent container has no network anyway.
 * - `--host-uds=all`: the agent's relays connect to the sidecar's sockets in the shared volume,
 *   and the server's socket is made inside and connected to from the sidecar.
 * - `--oci-seccomp`: without it runsc ignores the container's seccomp profile.
 */
export const GVISOR_FLAGS: ReadonlyArray<{ name: string; value: string }> = [
  { name: "network", value: "none" },
  { name: "host-uds", value: "all" },
  { name: "oci-seccomp", value: "true" },
];

const DAEMON_JSON = "/etc/docker/daemon.json";

/** The daemon.json entry that registers `name` as ocbox needs it. */
export function daemonJsonEntry(name: string, path = "/usr/bin/runsc"): string {
  const args = GVISOR_FLAGS.map((f) => (f.value === "true" ? `"--${f.name}"` : `"--${f.name}=${f.value}"`));
  return `{ "runtimes": { "${name}": { "path": "${path}", "runtimeArgs": [${args.join(", ")}] } } }`;
}

/** The value each flag of a Go-style argument list has (`-a=b`, `--a=b`, `--a b`, `--a`). */
export function flagValues(args: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const m = /^--?([A-Za-z0-9][\w-]*)(?:=(.*))?$/.exec(args[i] ?? "");
    if (!m?.[1]) continue;
    const next = args[i + 1];
    if (m[2] !== undefined) out.set(m[1], m[2]);
    else if (next !== undefined && !next.startsWith("-") && m[1] !== "oci-seccomp") {
      out.set(m[1], next);
      i++;
    } else out.set(m[1], "true");
  }
  return out;
}

/** The flags of GVISOR_FLAGS a registration lacks (or sets to another value), as `--name=value`. */
export function missingFlags(runtime: RegisteredRuntime): string[] {
  const values = flagValues(runtime.runtimeArgs);
  return GVISOR_FLAGS.filter((f) => values.get(f.name) !== f.value).map((f) =>
    f.value === "true" ? `--${f.name}` : `--${f.name}=${f.value}`,
  );
}

function basename(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

const reload = `then reload the engine without stopping a container: \`sudo kill -HUP $(pidof dockerd)\`, and check with \`docker info --format '{{json .Runtimes}}'\`.`;

/**
 * Why the engine cannot run the agent container under `name` as ocbox needs; undefined when it
 * can. `runtimes` is the engine's /info `Runtimes` (undefined: the engine does not list them).
 */
export function runtimeProblem(
  name: string,
  runtimes: Readonly<Record<string, RegisteredRuntime>> | undefined,
): OcboxError | undefined {
  const where = `hardening.runtime: ${name}`;
  if (runtimes === undefined) {
    return new OcboxError("SANDBOX_START", `${where}: the engine does not list its runtimes`, {
      detail: "Its /info answer has no `Runtimes`; the gVisor tier is checked and tested on Docker's engine.",
      fix: `Use Docker with runsc registered in ${DAEMON_JSON} (SECURITY.md, the gVisor tier), or remove hardening.runtime.`,
    });
  }
  const runtime = runtimes[name];
  if (runtime === undefined) {
    return new OcboxError("SANDBOX_START", `${where}: the engine has no runtime named ${name}`, {
      detail: `Registered: ${Object.keys(runtimes).sort().join(", ") || "none"}.`,
      fix: `Install gVisor (Debian: \`apt-get install runsc\`), merge this into ${DAEMON_JSON}: ${daemonJsonEntry(name)}, ${reload}`,
    });
  }
  if (basename(runtime.path) !== "runsc") {
    return new OcboxError(
      "SANDBOX_START",
      `${where}: ${name} is ${runtime.path || "no path"}, not gVisor's runsc`,
      {
        fix: `hardening.runtime selects the gVisor tier only: register runsc under another name (${daemonJsonEntry("runsc")}), ${reload}`,
      },
    );
  }
  const missing = missingFlags(runtime);
  if (missing.length > 0) {
    return new OcboxError("SANDBOX_START", `${where}: ${name} is registered without ${missing.join(", ")}`, {
      detail: `Its runtimeArgs: ${JSON.stringify(runtime.runtimeArgs)}. A runtime's flags are set where the engine registers it, not per container.`,
      fix: `Make its entry in ${DAEMON_JSON} read ${daemonJsonEntry(name, runtime.path)}, ${reload}`,
    });
  }
  return undefined;
}
