/** The default base image, and the one `ocbox image bootstrap` makes from Debian's packages. */
export const DEFAULT_BASE = "debian:bookworm-slim";
export const BOOTSTRAP_BASE = "ocbox/debian-base:bookworm";

/**
 * Which bases to try, in order. A configured base is used alone. Otherwise the Debian slim image
 * comes first and the bootstrapped one stands in on machines that cannot pull it.
 */
export function baseCandidates(configured: string | undefined): string[] {
  return configured ? [configured] : [DEFAULT_BASE, BOOTSTRAP_BASE];
}
