/**
 * A second Docker daemon of the tests' own, for a test that must restart "the engine" without
 * touching the shared one: its own data root, exec root (and so its own managed containerd),
 * pidfile and socket, its own default bridge (`ocbtest0`, made here: with `--bridge=none` a
 * second dockerd deletes the shared engine's `docker0`, measured) and no iptables rules. CI gets dockerd from .ci/run; a missing dockerd or a non-root user is a
 * failure that says so.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, openSync, readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import Docker from "dockerode";

export const TEST_DOCKERD = {
  socket: "/run/ocbox-test-docker.sock",
  host: "unix:///run/ocbox-test-docker.sock",
  dataRoot: "/var/lib/ocbox-test-dockerd",
  execRoot: "/run/ocbox-test-dockerd",
  pidfile: "/run/ocbox-test-dockerd.pid",
  log: "/var/log/ocbox-test-dockerd.log",
  bridge: "ocbtest0",
  bridgeAddress: "10.213.0.1/24",
} as const;

/** The test daemon's own default bridge (`ip link`), made once; never the shared `docker0`. */
function ensureTestBridge(): void {
  const name = TEST_DOCKERD.bridge;
  if (spawnSync("ip", ["link", "show", name], { stdio: "ignore" }).status === 0) return;
  for (const args of [
    ["link", "add", name, "type", "bridge"],
    ["addr", "add", TEST_DOCKERD.bridgeAddress, "dev", name],
    ["link", "set", name, "up"],
  ]) {
    const r = spawnSync("ip", args, { encoding: "utf8" });
    if (r.status !== 0)
      throw new Error(
        `ip ${args.join(" ")} failed (${r.stderr.trim()}); the test dockerd needs root and iproute2`,
      );
  }
}

export interface TestDockerd {
  docker: Docker;
  /** Stop the daemon as a service restart does (SIGTERM, wait for it to exit). */
  stop(): Promise<void>;
  /** Start it again on the same data root. */
  start(): Promise<void>;
}

function requireDockerd(): void {
  if (process.getuid?.() !== 0)
    throw new Error("the engine-restart test starts a dockerd of its own: run it as root (CI does)");
  if (!["/usr/sbin/dockerd", "/usr/bin/dockerd"].some((p) => existsSync(p)))
    throw new Error("dockerd is not installed: apt-get install docker.io (.ci/run does)");
}

async function waitFor(check: () => Promise<boolean>, what: string, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await sleep(250);
  }
  throw new Error(`${what} within ${ms / 1000} s; see ${TEST_DOCKERD.log}`);
}

const pinged = (docker: Docker) =>
  docker.ping().then(
    () => true,
    () => false,
  );

/** Start the tests' dockerd (a leftover of an earlier run of this helper is stopped first). */
export async function startTestDockerd(): Promise<TestDockerd> {
  requireDockerd();
  const docker = new Docker({ socketPath: TEST_DOCKERD.socket });
  let child: ChildProcess | undefined;
  const running = (): number | undefined => {
    let text: string;
    try {
      text = readFileSync(TEST_DOCKERD.pidfile, "utf8");
    } catch (e) {
      // No pidfile, or dockerd removed it as it stopped (between a check and a read, seen in CI).
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw e;
    }
    const pid = Number(text.trim());
    if (!Number.isInteger(pid) || pid <= 0) return undefined;
    try {
      process.kill(pid, 0);
      return pid;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ESRCH") return undefined; // the pidfile is stale
      throw e;
    }
  };
  const stop = async () => {
    const pid = running();
    if (pid === undefined) return;
    process.kill(pid, "SIGTERM");
    await waitFor(() => Promise.resolve(running() === undefined), "the test dockerd did not stop", 60_000);
  };
  const start = async () => {
    mkdirSync(TEST_DOCKERD.dataRoot, { recursive: true });
    ensureTestBridge();
    const log = openSync(TEST_DOCKERD.log, "a");
    child = spawn(
      "dockerd",
      [
        `--data-root=${TEST_DOCKERD.dataRoot}`,
        `--exec-root=${TEST_DOCKERD.execRoot}`,
        `--pidfile=${TEST_DOCKERD.pidfile}`,
        `-H=${TEST_DOCKERD.host}`,
        `--bridge=${TEST_DOCKERD.bridge}`,
        "--iptables=false",
        "--ip-masq=false",
      ],
      { detached: true, stdio: ["ignore", log, log] },
    );
    child.unref();
    await waitFor(() => pinged(docker), "the test dockerd did not answer", 60_000);
  };
  await stop();
  await start();
  return { docker, stop, start };
}

/** Copy images from the shared engine into the tests' own (save | load through the engine API). */
export async function copyImages(from: Docker, to: Docker, tags: readonly string[]): Promise<void> {
  for (const tag of tags) {
    const have = await to
      .getImage(tag)
      .inspect()
      .then(
        () => true,
        () => false,
      );
    if (have) continue;
    const tar = await from.getImage(tag).get();
    const loaded = await to.loadImage(tar);
    await new Promise<void>((resolve, reject) => {
      loaded.on("end", () => resolve());
      loaded.on("error", reject);
      loaded.resume();
    });
  }
}
