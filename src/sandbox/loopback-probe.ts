/**
 * Is the engine host's loopback this process's? Only then does a port published on its
 * 127.0.0.1 reach us, and does a container in its network namespace reach our host ports and
 * loopback model servers. A remote engine (tcp://, ssh://) never shares it; for a socket the
 * answer is measured by a one-shot container in the engine host's network namespace that connects
 * to a listener of ours on 127.0.0.1 and sends a random token (about a second), and remembered in
 * the state dir per engine and this process's network namespace for a day (path-probe-cache.ts).
 * ocbox in a container with only the engine's socket (a CI job) gets "no"; the same machine "yes".
 */
import { randomBytes } from "node:crypto";
import { readlink } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import type { ContainerSpec, Engine } from "../runtime/engine.js";
import { LABEL } from "../runtime/labels.js";
import { currentOwner } from "../runtime/owner.js";
import { stateHome } from "../util/paths.js";
import { hardeningOptions } from "./hardening.js";
import { cachedAnswer, withAnswer } from "./path-probe-cache.js";
import { probeEngineKey, readProbeCacheFile, writeProbeCacheFile } from "./probe-cache-file.js";
import type { ServerTransport, TransportSetting } from "./server-transport.js";

export const PROBE_KIND = "loopback-probe";

/** The transport an endpoint implies by itself; undefined when only a probe can tell. Pure. */
export function transportOfEndpoint(endpoint: string): ServerTransport | undefined {
  const scheme = /^([a-z0-9+.-]+):\/\//i.exec(endpoint)?.[1]?.toLowerCase();
  if (scheme === undefined || scheme === "unix" || scheme === "npipe") return undefined;
  return "exec";
}

const verdicts = new Map<string, Promise<boolean>>();

/** The transport to use: the setting when forced, else the endpoint's, else the probe's. */
export async function chooseTransport(
  engine: Engine,
  setting: TransportSetting,
  image: string,
): Promise<ServerTransport> {
  if (setting !== "auto") return setting;
  const implied = transportOfEndpoint(engine.endpoint);
  if (implied) return implied;
  let verdict = verdicts.get(engine.endpoint);
  if (!verdict) {
    verdict = rememberedVerdict(engine, image);
    verdicts.set(engine.endpoint, verdict);
    // A probe that failed is asked again next time, not remembered.
    verdict.catch(() => verdicts.delete(engine.endpoint));
  }
  return (await verdict) ? "port" : "exec";
}

/** The one-shot container: host network, hardened, sends `token` to 127.0.0.1:`port`. Pure. */
export function probeContainer(image: string, port: number, token: string): ContainerSpec {
  const owner = currentOwner();
  const { readOnlyRoot, capDrop, capAdd, securityOpt } = hardeningOptions();
  return {
    name: `ocbox-probe-${randomBytes(4).toString("hex")}`,
    image,
    labels: {
      [LABEL.managed]: "true",
      [LABEL.kind]: PROBE_KIND,
      [LABEL.sandbox]: "probe",
      [LABEL.run]: randomBytes(4).toString("hex"),
      [LABEL.ownerHost]: owner.host,
      [LABEL.ownerPid]: String(owner.pid),
      [LABEL.ownerStart]: owner.start,
      [LABEL.lifetime]: "session",
    },
    env: {},
    user: "65534:65534",
    entrypoint: [
      "bash",
      "-c",
      `exec 3<>/dev/tcp/127.0.0.1/${port} && printf '%s\\n' ${token} >&3 && sleep 1; echo probed`,
    ],
    networkMode: "host",
    mounts: [],
    tmpfs: {},
    readOnlyRoot,
    capDrop,
    capAdd,
    securityOpt,
    limits: { memoryBytes: 32 * 1024 ** 2, pids: 16 },
    stopTimeout: 1,
    logMaxSize: "1m",
    logMaxFiles: 1,
  };
}

export function loopbackCacheFile(env: NodeJS.ProcessEnv = process.env): string {
  return join(stateHome(env), "engine-loopback.json");
}

/** The remembered answer for this engine and network namespace, else a fresh probe (remembered). */
async function rememberedVerdict(engine: Engine, image: string): Promise<boolean> {
  // This process's network namespace: ocbox in a container and on its host share no loopback.
  const netns = await readlink("/proc/self/ns/net").catch(() => undefined);
  if (netns === undefined) return sharesLoopback(engine, image);
  const key = await probeEngineKey(engine);
  const where = `loopback ${netns}`;
  const file = loopbackCacheFile();
  const known = cachedAnswer(await readProbeCacheFile(file), key, where, Date.now());
  if (known !== undefined) return known;
  const shares = await sharesLoopback(engine, image);
  await writeProbeCacheFile(file, withAnswer(await readProbeCacheFile(file), key, where, shares, Date.now()));
  return shares;
}

async function sharesLoopback(engine: Engine, image: string): Promise<boolean> {
  const token = randomBytes(16).toString("hex");
  let heard = false;
  const server: Server = createServer((socket) => {
    let got = "";
    socket.setEncoding("utf8");
    socket.on("data", (d: string) => {
      got += d;
      if (got.includes(token)) heard = true;
    });
    socket.on("error", () => socket.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  try {
    const id = await engine.createContainer(probeContainer(image, port, token));
    try {
      await engine.startContainer(id);
      await engine.followLogs(id, () => undefined, AbortSignal.timeout(15_000));
    } finally {
      await engine.removeContainer(id).catch(() => undefined);
    }
    return heard;
  } finally {
    server.close();
  }
}
