/**
 * Matching installed Debian packages against Debian's security tracker data (the JSON the tracker
 * publishes: source package → CVE → releases → {status, fixed_version, urgency}), read from a file
 * that is on this machine. Pure: nothing is fetched.
 */
import { compareDebianVersions } from "./debian-version.js";

export interface InstalledPackage {
  name: string;
  version: string;
  /** The source package (what the tracker is keyed by). */
  source: string;
}

export interface Finding {
  package: string;
  version: string;
  cve: string;
  status: "open" | "fixed-later";
  fixedVersion: string | null;
  urgency: string | null;
}

export type TrackerData = Record<
  string,
  Record<string, { releases?: Record<string, { status?: string; fixed_version?: string; urgency?: string }> }>
>;

/** `dpkg-query -W -f '${Package}\t${Version}\t${Source}\n'` output → packages. Pure. */
export function parseDpkgQuery(text: string): InstalledPackage[] {
  const out: InstalledPackage[] = [];
  for (const line of text.split("\n")) {
    const [name, version, source] = line.split("\t");
    if (!name || !version) continue;
    // Source may carry its own version: "glibc (2.36-9)".
    const src = (source ?? "").replace(/\s*\(.*\)$/, "").trim();
    out.push({ name: name.trim(), version: version.trim(), source: src || name.trim() });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

export function matchVulnerabilities(
  packages: readonly InstalledPackage[],
  tracker: TrackerData,
  release: string,
): Finding[] {
  const findings: Finding[] = [];
  for (const p of packages) {
    const cves = tracker[p.source];
    if (!cves) continue;
    for (const [cve, entry] of Object.entries(cves)) {
      const r = entry.releases?.[release];
      if (!r) continue;
      const urgency = r.urgency && r.urgency !== "not yet assigned" ? r.urgency : null;
      if (r.status === "open" || r.status === "undetermined") {
        findings.push({
          package: p.name,
          version: p.version,
          cve,
          status: "open",
          fixedVersion: null,
          urgency,
        });
        continue;
      }
      const fixed = r.fixed_version;
      if (r.status === "resolved" && fixed && fixed !== "0" && compareDebianVersions(p.version, fixed) < 0) {
        findings.push({
          package: p.name,
          version: p.version,
          cve,
          status: "fixed-later",
          fixedVersion: fixed,
          urgency,
        });
      }
    }
  }
  return findings;
}
