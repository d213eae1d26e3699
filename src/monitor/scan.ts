/**
 * `ocbox scan` (FEATURES G6): the sandbox image's Debian packages with their versions, matched
 * against Debian's security tracker data when a copy is on this machine. Without one it says so:
 * it never reports "no vulnerabilities" without data to back it.
 *
 * The package list comes from a throwaway container of the image (no network, read-only root,
 * no capabilities, nobody's uid) running `dpkg-query`; it is labelled, so the reaper removes it
 * if this process dies.
 */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { OcboxError, errorMessage } from "../errors.js";
import type { Engine } from "../runtime/engine.js";
import { LABEL } from "../runtime/labels.js";
import { currentOwner } from "../runtime/owner.js";
import {
  matchVulnerabilities,
  parseDpkgQuery,
  type Finding,
  type InstalledPackage,
  type TrackerData,
} from "./vuln-feed.js";

export interface ScanReport {
  image: string;
  release: string | null;
  packages: InstalledPackage[];
  /** The tracker file used, or null when none was found. */
  feed: string | null;
  /** null when there was no feed: unknown, not zero. */
  findings: Finding[] | null;
  /** What could not be checked, in words. */
  notes: string[];
}

const SCRIPT =
  "dpkg-query -W -f '${Package}\\t${Version}\\t${Source}\\n'; . /etc/os-release 2>/dev/null; echo \"#release=${VERSION_CODENAME:-}\"";

/** Where a tracker file may be: OCBOX_VULN_FEED, then the data dir, then /usr/share/ocbox. */
export function feedCandidates(env: NodeJS.ProcessEnv = process.env): string[] {
  return [
    ...(env.OCBOX_VULN_FEED ? [env.OCBOX_VULN_FEED] : []),
    join(env.XDG_DATA_HOME || join(homedir(), ".local", "share"), "ocbox", "debian-security-tracker.json"),
    "/usr/share/ocbox/debian-security-tracker.json",
  ];
}

async function dpkgList(
  engine: Engine,
  image: string,
): Promise<{ packages: InstalledPackage[]; release: string | null }> {
  const owner = currentOwner();
  const id = await engine.createContainer({
    name: `ocbox-scan-${randomBytes(4).toString("hex")}`,
    image,
    labels: {
      [LABEL.managed]: "true",
      [LABEL.sandbox]: "scan",
      [LABEL.run]: randomBytes(4).toString("hex"),
      [LABEL.ownerHost]: owner.host,
      [LABEL.ownerPid]: String(owner.pid),
      [LABEL.ownerStart]: owner.start,
      [LABEL.lifetime]: "session",
    },
    env: {},
    user: "65534:65534",
    entrypoint: ["sh", "-c", SCRIPT],
    networkMode: "none",
    mounts: [],
    tmpfs: {},
    readOnlyRoot: true,
    capDrop: ["ALL"],
    capAdd: [],
    securityOpt: ["no-new-privileges:true"],
    limits: { memoryBytes: 256 * 1024 * 1024, pids: 64 },
    stopTimeout: 2,
    logMaxSize: "10m",
    logMaxFiles: 1,
  });
  try {
    const lines: string[] = [];
    await engine.startContainer(id);
    await engine.followLogs(
      id,
      (line, stream) => stream === "stdout" && lines.push(line),
      AbortSignal.timeout(60_000),
    );
    const release = lines.find((l) => l.startsWith("#release="))?.slice("#release=".length) || null;
    return { packages: parseDpkgQuery(lines.filter((l) => !l.startsWith("#")).join("\n")), release };
  } finally {
    await engine.removeContainer(id).catch(() => undefined);
  }
}

export async function scanImage(
  engine: Engine,
  image: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ScanReport> {
  if (!(await engine.imageId(image)))
    throw new OcboxError("IMAGE_MISSING", `the image ${image} is not on this engine`, {
      fix: "Build it with `ocbox image build` (or `ocbox up`), then scan again.",
    });
  const { packages, release } = await dpkgList(engine, image);
  if (packages.length === 0)
    throw new OcboxError("CHECK_FAILED", `no Debian packages could be listed in ${image}`, {
      fix: "The image must be Debian-based with dpkg; check image.base in ocbox.yaml.",
    });
  const notes: string[] = [];
  const feed = feedCandidates(env).find((f) => existsSync(f)) ?? null;
  if (!feed) {
    notes.push(
      "no vulnerability data on this machine, so the packages were NOT checked for known vulnerabilities " +
        `(looked for: ${feedCandidates(env).join(", ")}). Put Debian's security tracker JSON there ` +
        "(or set OCBOX_VULN_FEED) to check them.",
    );
    return { image, release, packages, feed, findings: null, notes };
  }
  if (!release) {
    notes.push(
      "the image's Debian release is unknown (/etc/os-release has no VERSION_CODENAME); nothing was matched",
    );
    return { image, release, packages, feed, findings: null, notes };
  }
  let tracker: TrackerData;
  try {
    tracker = JSON.parse(await readFile(feed, "utf8")) as TrackerData;
  } catch (e) {
    throw new OcboxError(
      "CHECK_FAILED",
      `cannot read the vulnerability data in ${feed}: ${errorMessage(e)}`,
      {
        fix: "Replace it with Debian's security tracker JSON, or remove it.",
      },
    );
  }
  const findings = matchVulnerabilities(packages, tracker, release);
  notes.push(`matched against ${feed} for ${release}; the result is only as new as that file`);
  return { image, release, packages, feed, findings, notes };
}
