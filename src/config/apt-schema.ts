/**
 * The `apt` key of ocbox.yaml (FEATURES C9): Debian packages the agent may install at run time
 * with `ocbox-apt install`, through a helper container, never as root. Absent or empty: off, and
 * no helper runs.
 */
import { z } from "zod";
import { debianPackageProblem, withProblem, type Problem } from "./checks.js";

/** A Debian package name (Debian Policy 5.6.1): no version, no release, no option. */
export const APT_PACKAGE_PATTERN = /^[a-z0-9][a-z0-9+.-]+$/;

/** Why an `apt.allow` entry is not a bare Debian package name, or undefined. Pure. */
export function aptPackageProblem(name: string): Problem | undefined {
  if (APT_PACKAGE_PATTERN.test(name) && name.length <= 100) return undefined;
  const at = name.search(/[=/]/);
  if (at > 0 && APT_PACKAGE_PATTERN.test(name.slice(0, at))) {
    return {
      problem: `"${name}" pins a ${name[at] === "=" ? "version" : "release"}`,
      fix: `write the name only: ${name.slice(0, at)} (the sandbox image's Debian release decides the version)`,
    };
  }
  if (name.startsWith("-"))
    return { problem: `"${name}" is an option, not a package`, fix: "list package names only" };
  return (
    debianPackageProblem(name) ?? {
      problem: `"${name}" is not a Debian package name`,
      fix: "use the name `apt-cache search` shows: lower-case letters, digits, + - and .",
    }
  );
}

export const aptSchema = z
  .strictObject({
    allow: z
      .array(withProblem(z.string(), aptPackageProblem).meta({ pattern: APT_PACKAGE_PATTERN.source }))
      .default([])
      .describe(
        "Debian packages the agent may install at run time with `ocbox-apt install NAME`, e.g. [jq, sqlite3]. " +
          "A helper container downloads them (and missing libraries) from the image's Debian mirror and unpacks " +
          "them under /opt/ocbox/apt, read-only for the agent and on its PATH; package scripts never run, and " +
          "installs last until the sandbox stops. Empty: off.",
      ),
  })
  .prefault({})
  .describe(
    "Run-time package installs without root (the agent asks; ocbox's helper installs only these names).",
  );
