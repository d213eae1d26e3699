/**
 * The read-only OpenCode payload (issue 15, item 3): an engine volume holding the pinned opencode
 * binary, its prebaked config (the plugin packages it would fetch), ocbox's entrypoint for task
 * images, the relays (socat) and the few tools the entrypoint uses, each with glibc's loader and
 * the libraries it needs, so nothing is installed in a task's image and no network is needed.
 *
 * Layout (mounted read-only at PAYLOAD_DIR, and, on an image without /lib64, a second time at
 * /lib64 so that the opencode binary's fixed interpreter exists there):
 *   bin/opencode, bin/{bash,socat,sleep,mkdir,ln,rm,tar}   lib/ (glibc's loader + every lib of bin/*)
 *   ld-linux-x86-64.so.2, libc.so.6, … (opencode's own libs, for the /lib64 mount)
 *   config/opencode/ (XDG config)   agent-entrypoint.sh   .complete (written last)
 *
 * Made once per payload hash (the sandbox image it is copied from, and this file's scripts) by a
 * one-shot container of ocbox's own sandbox image, with no network; never by a task's code.
 */
import { createHash, randomBytes } from "node:crypto";
import type { Engine } from "../runtime/engine.js";
import { LABEL } from "../runtime/labels.js";
import { OcboxError } from "../errors.js";
import { pack } from "tar-stream";
import { OPENCODE_VERSION } from "./opencode-binary.js";
import { taskAgentEntrypoint } from "./task-entrypoint.js";

export const PAYLOAD_DIR = "/ocbox";
export const PAYLOAD_KIND = "payload";
/** Run a payload binary with the payload's own loader and libraries (any image, any libc). */
export const PAYLOAD_LOADER = [
  `${PAYLOAD_DIR}/lib/ld-linux-x86-64.so.2`,
  "--library-path",
  `${PAYLOAD_DIR}/lib`,
];

const FILL_AT = "/payload";
// tar: uploads into a gVisor container go through it (gVisor does not see what the engine puts into its root).
const TOOLS = ["/bin/bash", "/usr/bin/socat", "/bin/sleep", "/bin/mkdir", "/bin/ln", "/bin/rm", "/bin/tar"];

/** The fill script, run as root in a throwaway container of the sandbox image. */
export const PAYLOAD_FILL = `set -eu
P=${FILL_AT}
mkdir -p "$P/bin" "$P/lib" "$P/config"
cp /usr/local/bin/opencode "$P/bin/opencode"
cp -a /opt/ocbox/config/opencode "$P/config/opencode"
for t in ${TOOLS.join(" ")}; do
  cp "$t" "$P/bin/"
  for l in $(ldd "$t" | awk '/=> \\// { print $3 }'); do cp -L "$l" "$P/lib/"; done
done
cp -L /lib64/ld-linux-x86-64.so.2 "$P/lib/"
cp -L /lib64/ld-linux-x86-64.so.2 "$P/"
for l in $(ldd /usr/local/bin/opencode | awk '/=> \\// { print $3 }'); do cp -L "$l" "$P/"; done
chown -R 0:0 "$P"
chmod -R a+rX,go-w "$P"
chmod 0644 "$P/agent-entrypoint.sh"
touch "$P/.complete"
`;

/** The payload volume's name for a sandbox image: a hash of everything that goes into it. Pure. */
export function payloadVolumeName(sandboxImage: string): string {
  const h = createHash("sha256")
    .update(JSON.stringify([sandboxImage, PAYLOAD_FILL, taskAgentEntrypoint]))
    .digest("hex");
  return `ocbox-payload-${h.slice(0, 16)}`;
}

export interface Payload {
  volume: string;
  /** True when this call made it. */
  made: boolean;
  seconds: number;
}

const making = new Map<string, Promise<Payload>>();

/** The payload volume for this sandbox image, made when missing or left half-filled. */
export function ensurePayload(engine: Engine, sandboxImage: string): Promise<Payload> {
  const volume = payloadVolumeName(sandboxImage);
  let p = making.get(volume);
  if (!p) {
    p = makePayload(engine, sandboxImage, volume).catch((e: unknown) => {
      making.delete(volume);
      throw e;
    });
    making.set(volume, p);
  }
  return p;
}

async function makePayload(engine: Engine, image: string, volume: string): Promise<Payload> {
  const t0 = performance.now();
  const seconds = () => (performance.now() - t0) / 1000;
  if ((await engine.volumeExists(volume)) && (await isComplete(engine, image, volume)))
    return { volume, made: false, seconds: seconds() };
  await engine.removeVolume(volume);
  const labels = { [LABEL.managed]: "true", [LABEL.kind]: PAYLOAD_KIND, [LABEL.opencode]: OPENCODE_VERSION };
  await engine.createVolume(volume, labels, {});
  const id = await engine.createContainer(filler(image, volume, ["bash", "-c", PAYLOAD_FILL], false));
  try {
    await engine.putArchive(id, FILL_AT, await entrypointTar());
    await engine.startContainer(id);
    const code = await waitExit(engine, id, 300);
    if (code !== 0)
      throw new OcboxError("IMAGE_BUILD", `the OpenCode payload volume ${volume} could not be filled`, {
        detail: await engine.logsTail(id, 30),
        fix: "Rebuild the sandbox image (ocbox image build --rebuild) and run again.",
      });
  } finally {
    await engine.removeContainer(id);
  }
  return { volume, made: true, seconds: seconds() };
}

/** A one-shot container of the sandbox image with the payload volume at FILL_AT. */
function filler(image: string, volume: string, cmd: string[], readOnly: boolean) {
  return {
    name: `ocbox-payload-fill-${randomBytes(4).toString("hex")}`,
    image,
    labels: { [LABEL.managed]: "true", [LABEL.kind]: "payload-fill" },
    env: {},
    user: "0:0",
    entrypoint: cmd,
    cmd: [],
    networkMode: "none",
    mounts: [{ type: "volume" as const, source: volume, target: FILL_AT, readOnly }],
    tmpfs: {},
    readOnlyRoot: true,
    capDrop: ["ALL"],
    capAdd: ["CHOWN", "DAC_OVERRIDE", "FOWNER"],
    securityOpt: ["no-new-privileges"],
    limits: { pids: 64 },
    stopTimeout: 1,
    logMaxSize: "1m",
    logMaxFiles: 1,
  };
}

async function entrypointTar(): Promise<Buffer> {
  const p = pack();
  p.entry(
    { name: "agent-entrypoint.sh", mode: 0o644, uid: 0, gid: 0, mtime: new Date() },
    taskAgentEntrypoint,
  );
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function isComplete(engine: Engine, image: string, volume: string): Promise<boolean> {
  const id = await engine.createContainer(filler(image, volume, ["/never-runs"], true));
  try {
    return (await engine.pathStat(id, `${FILL_AT}/.complete`)) !== undefined;
  } finally {
    await engine.removeContainer(id);
  }
}

async function waitExit(engine: Engine, id: string, timeoutS: number): Promise<number | undefined> {
  const deadline = Date.now() + timeoutS * 1000;
  for (;;) {
    const st = await engine.containerState(id);
    if (!st?.running) return st?.exitCode;
    if (Date.now() > deadline) return undefined;
    await new Promise((r) => setTimeout(r, 200));
  }
}
