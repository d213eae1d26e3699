/**
 * Value checks for config fields that a plain type cannot express: host names for the egress
 * allowlist, environment variable names, Debian package names, image references, URLs, paths
 * inside the project, and values that look like secrets. Pure.
 *
 * Each check returns a `Problem` (what is wrong, and the fix in words) or undefined. `withProblem`
 * attaches a check to a zod schema so the problem and its fix travel in the zod issue.
 */
import type { z } from "zod";

export interface Problem {
  problem: string;
  fix: string;
  /** The value may be a secret: error output must not show it. */
  secret?: boolean;
}

/** Attach a check to a schema; a problem becomes a custom zod issue with `params.fix`. */
export function withProblem<T extends z.ZodType>(
  schema: T,
  find: (value: z.output<T>) => Problem | undefined,
): T {
  return schema.superRefine((value, ctx) => {
    const found = find(value);
    if (found === undefined) return;
    ctx.addIssue({
      code: "custom",
      message: found.problem,
      params: { fix: found.fix, secret: found.secret === true },
    });
  });
}

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
/** JSON Schema pattern for an allowlist entry (editors only; the check below is the authority). */
export const ALLOW_ENTRY_PATTERN = "^\\.?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$";

/** An egress allowlist entry: `.example.com` (domain and subdomains) or `api.example.com` (exact host). */
export function allowEntryProblem(entry: string): Problem | undefined {
  const example =
    "write a host name such as api.example.com, or .example.com for a domain and its subdomains";
  if (entry === "") return { problem: "is empty", fix: example };
  if (/\s/.test(entry))
    return { problem: `"${entry}" contains a space`, fix: `one host per list item, no spaces; ${example}` };
  if (entry.includes("/")) {
    const host = hostOfUrl(entry);
    return {
      problem: `"${entry}" is a URL, not a host name`,
      fix: host ? `write just the host: ${host}` : example,
    };
  }
  if (entry.startsWith("*.")) {
    return {
      problem: `"${entry}" uses a wildcard`,
      fix: `write "${entry.slice(1)}": a leading dot already allows the domain and its subdomains`,
    };
  }
  if (entry.includes("*")) return { problem: `"${entry}" uses a wildcard`, fix: example };
  if (/^\[?[0-9a-f:]*:[0-9a-f:]*\]?$/i.test(entry) || /^\.?\d{1,3}(\.\d{1,3}){3}$/.test(entry)) {
    return {
      problem: `"${entry}" is an IP address`,
      fix: "name the host instead: the proxy allows host names only, so direct IP access stays blocked",
    };
  }
  if (/:\d+$/.test(entry)) {
    return {
      problem: `"${entry}" has a port`,
      fix: `write "${entry.replace(/:\d+$/, "")}": the proxy allows HTTP and HTTPS; host TCP ports go in egress.hostPorts`,
    };
  }
  if (entry !== entry.toLowerCase())
    return { problem: `"${entry}" has upper-case letters`, fix: `write "${entry.toLowerCase()}"` };
  const host = entry.startsWith(".") ? entry.slice(1) : entry;
  const labels = host.split(".");
  if (host.length > 253 || !labels.every((label) => LABEL.test(label)) || /^\d+$/.test(labels.at(-1) ?? "")) {
    return {
      problem: `"${entry}" is not a valid host name`,
      fix: `${example}; letters, digits and hyphens between dots`,
    };
  }
  if (entry.startsWith(".") && labels.length < 2) {
    return {
      problem: `"${entry}" would allow a whole top-level domain`,
      fix: "name a registered domain, such as .example.com",
    };
  }
  if (host === "localhost") {
    return {
      problem: "localhost inside the sandbox is the sandbox itself",
      fix: "list the host's TCP ports in egress.hostPorts instead",
    };
  }
  return undefined;
}

function hostOfUrl(text: string): string | undefined {
  try {
    return new URL(text.includes("://") ? text : `https://${text}`).hostname || undefined;
  } catch {
    return undefined;
  }
}

/** POSIX-ish environment variable name. Lower case is allowed (`http_proxy` exists), `-` is not. */
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function envNameProblem(name: string): Problem | undefined {
  if (ENV_NAME.test(name)) return undefined;
  if (looksLikeSecret(name)) {
    return {
      problem: "looks like a secret value, not a variable name",
      fix: "use the NAME of a host variable that holds it",
      secret: true,
    };
  }
  return {
    problem: `"${name}" is not an environment variable name`,
    fix: "use letters, digits and _ only, not starting with a digit, e.g. MY_API_KEY",
  };
}

/** An env passthrough prefix such as `OPENAI_`. */
export function envPrefixProblem(prefix: string): Problem | undefined {
  if (prefix.length >= 2 && ENV_NAME.test(prefix)) return undefined;
  return {
    problem: `"${prefix}" is not a usable variable name prefix`,
    fix: "use two or more letters, digits or _, usually ending in _, e.g. MY_PROVIDER_",
  };
}

/**
 * A value that is probably a credential: a known key prefix, or a long token of mixed letters and
 * digits. Used to refuse secrets where ocbox.yaml expects a variable NAME (the file is committed).
 */
export function looksLikeSecret(value: string): boolean {
  const known =
    /^(sk-|sk_|pk_|rk_|ghp_|gho_|ghs_|ghu_|github_pat_|glpat-|xox[abpr]-|AKIA|ASIA|AIza|hf_|gsk_|csk-)/;
  if (known.test(value) && value.length >= 16) return true;
  // A long token mixing lower case, upper case and digits; repository names and paths rarely do.
  return (
    value.length >= 24 &&
    /^[A-Za-z0-9_\-+/=.]+$/.test(value) &&
    /[a-z]/.test(value) &&
    /[A-Z]/.test(value) &&
    /\d/.test(value)
  );
}

/** A name where ocbox.yaml wants the name of a host variable (never its value). */
export function hostVarProblem(name: string): Problem | undefined {
  const found = envNameProblem(name);
  if (found) return found;
  if (looksLikeSecret(name)) {
    return {
      problem: "looks like a secret value, not a variable name",
      fix: "use the NAME of a host variable that holds it",
      secret: true,
    };
  }
  return undefined;
}

/** A Debian package name, optionally pinned: `ripgrep`, `libssl-dev`, `g++`, `python3=3.11.2-1`. */
export function debianPackageProblem(name: string): Problem | undefined {
  if (/^[a-z0-9][a-z0-9+.-]+(=[A-Za-z0-9.+~:-]+)?$/.test(name)) return undefined;
  if (/\s/.test(name.trim()))
    return { problem: `"${name}" is more than one word`, fix: "give one package per list item" };
  if (/^[a-z0-9][a-z0-9+.-]+$/.test(name.toLowerCase())) {
    return {
      problem: `"${name}" has upper-case letters`,
      fix: `Debian package names are lower case: "${name.toLowerCase()}"`,
    };
  }
  return {
    problem: `"${name}" is not a Debian package name`,
    fix: "use the name `apt-cache search` shows: lower-case letters, digits, + - and . (optionally =version)",
  };
}

const IMAGE_REF =
  /^(?:[A-Za-z0-9.-]+(?::\d+)?\/)?[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;

export function imageRefProblem(ref: string): Problem | undefined {
  if (IMAGE_REF.test(ref)) return undefined;
  return {
    problem: `"${ref}" is not an image reference`,
    fix: "write name:tag, e.g. debian:bookworm-slim or registry.example.com/team/base:1.2",
  };
}

/** An http(s) URL without credentials in it. */
export function httpUrlProblem(text: string): Problem | undefined {
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  if (url === undefined || !text.includes("://")) {
    return {
      problem: `"${text}" is not a URL with a scheme`,
      fix: `write the scheme too, e.g. http://${text.replace(/^\/+/, "")}`,
    };
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return {
      problem: `"${text}" is not an http or https URL`,
      fix: "use http://host:port/v1 or https://host/v1",
    };
  }
  if (url.username !== "" || url.password !== "") {
    return {
      problem: "has credentials in it",
      fix: "remove user:password@ from the URL; give a key with apiKeyEnv (a host variable name)",
      secret: true,
    };
  }
  return undefined;
}

/** A relative path that stays inside the project folder. */
export function projectPathProblem(path: string): Problem | undefined {
  if (path.trim() === "")
    return { problem: "is empty", fix: "give a path relative to the project root, e.g. .ocbox/pre-start.sh" };
  if (path.startsWith("/") || path.startsWith("~")) {
    return {
      problem: `"${path}" is not relative to the project`,
      fix: "give a path relative to the project root, e.g. .ocbox/pre-start.sh",
    };
  }
  if (path.split(/[\\/]/).includes("..")) {
    return {
      problem: `"${path}" leaves the project folder`,
      fix: "keep the hook inside the project, e.g. .ocbox/pre-start.sh",
    };
  }
  return undefined;
}
