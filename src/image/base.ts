/** The default base image, and the one `ocbox image bootstrap` makes from Debian's packages. */
export const DEFAULT_BASE = "debian:bookworm-slim";
export const BOOTSTRAP_BASE = "ocbox/debian-base:bookworm";

/** Which image is pulled by default, and the tag a bootstrap makes in its place. */
export interface DefaultBases {
  pull: string;
  bootstrap: string;
}

export const DEFAULT_BASES: DefaultBases = { pull: DEFAULT_BASE, bootstrap: BOOTSTRAP_BASE };

/**
 * Which bases to try, in order. A configured base is used alone. Otherwise the Debian slim image
 * comes first and the bootstrapped one stands in on machines that cannot pull it.
 */
export function baseCandidates(configured: string | undefined, defaults = DEFAULT_BASES): string[] {
  return configured ? [configured] : [defaults.pull, defaults.bootstrap];
}

/** A registry that answered and refused (auth, a missing repository or tag, a rate limit). */
const REFUSED = /unauthori[sz]ed|denied|not found|manifest unknown|toomanyrequests|does not exist/i;
/** No registry to talk to: name resolution, connection or TLS setup failed. */
const UNREACHABLE =
  /dial tcp|no such host|lookup \S+|temporary failure in name resolution|server misbehaving|connection refused|connection reset|network is unreachable|no route to host|i\/o timeout|TLS handshake timeout|Client\.Timeout exceeded|context deadline exceeded/i;

/** Whether a pull failed for want of a reachable registry (not a refusal by one). Pure. */
export function isNoRegistry(pullError: string): boolean {
  return UNREACHABLE.test(pullError) && !REFUSED.test(pullError);
}

export interface BootstrapHost {
  root: boolean;
  debootstrap: boolean;
}

export type BaseFallback = { kind: "bootstrap"; tag: string } | { kind: "fail"; fix: string };

/** The exact command that makes the base on this host, for a person to run. Pure. */
export function bootstrapCommand(host: BootstrapHost, tag: string): string {
  const sudo = host.root ? "" : "sudo ";
  const bootstrap = `${sudo}ocbox image bootstrap${tag === BOOTSTRAP_BASE ? "" : ` --tag ${tag}`}`;
  return host.debootstrap ? bootstrap : `${sudo}apt-get install -y debootstrap && ${bootstrap}`;
}

/**
 * What to do when no base image is here and the pull failed. Pure. A configured base is the
 * user's choice and is never replaced. For the default: when the pull failed for want of a
 * registry and this host can bootstrap (root with debootstrap), bootstrap; otherwise say the
 * exact command.
 */
export function baseFallback(input: {
  configured: string | undefined;
  pullError: string;
  host: BootstrapHost;
  defaults?: DefaultBases;
  /** false: never bootstrap on one's own (the fix still names the command). */
  auto?: boolean;
}): BaseFallback {
  const defaults = input.defaults ?? DEFAULT_BASES;
  if (input.configured)
    return {
      kind: "fail",
      fix: `Pull or build ${input.configured} first, or remove the configured base to use the default.`,
    };
  const command = bootstrapCommand(input.host, defaults.bootstrap);
  if (!isNoRegistry(input.pullError))
    return {
      kind: "fail",
      fix: `The registry answered but refused ${defaults.pull}: check the name and your login (docker login), or make a base from Debian's packages: ${command}`,
    };
  if (input.auto !== false && input.host.root && input.host.debootstrap)
    return { kind: "bootstrap", tag: defaults.bootstrap };
  return {
    kind: "fail",
    fix: `No container registry is reachable from the engine. Make the base from Debian's packages, then run this command again: ${command}`,
  };
}

/**
 * debootstrap's lines worth showing a person: its phases, not one line per package
 * ("I: Retrieving libc6 2.36-9", "I: Unpacking adduser..."). Pure.
 */
export function bootstrapProgressLine(line: string): string | undefined {
  const text = line.trim();
  if (!/^[IWE]: /.test(text)) return undefined;
  if (
    /^I: (Retrieving|Validating|Extracting|Unpacking|Configuring) [a-z0-9][a-z0-9+.-]*( \d\S*|\.\.\.)$/.test(
      text,
    )
  )
    return undefined;
  return text;
}
