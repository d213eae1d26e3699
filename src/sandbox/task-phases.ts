/**
 * The phases after the agent in a task's own container (issue 15, items 5 and 7), through the
 * engine API only, with the payload's tools (nothing of the image is trusted to exist):
 *   - stop the agent: every process of the agent's user killed (its server, its session, whatever
 *     it left running), PID 1 (the payload's keeper) stays;
 *   - a host dir (the task's tests/ or solution/) uploaded to a fresh path (never there before);
 *   - a script run as a user with an env and a timeout, its output into a file under /logs;
 *   - the reward files read back as hostile input (a link or a device is no reward).
 */
import { join, relative, sep } from "node:path";
import { Readable, Writable } from "node:stream";
import { pack } from "tar-fs";
import { SOCKET_DIR } from "../image/dockerfile.js";
import { PAYLOAD_DIR, PAYLOAD_LOADER } from "../image/payload.js";
import type { Engine, ExecResult } from "../runtime/engine.js";
import { readOneFile } from "./archive-files.js";
import { pack as tarPack } from "tar-stream";

const bash = (script: string, ...args: string[]) => [
  ...PAYLOAD_LOADER,
  `${PAYLOAD_DIR}/bin/bash`,
  "-c",
  script,
  "ocbox",
  ...args,
];
/** The payload's tools by name inside a script run by `bash` above. */
const RUN = `run() { local b=$1; shift; ${PAYLOAD_LOADER.join(" ")} ${PAYLOAD_DIR}/bin/"$b" "$@"; }`;

/** Harbor's dirs the agent writes: its own logs and the artifacts it leaves. */
export const TASK_AGENT_DIRS = ["logs/agent", "logs/artifacts"];

/** Kill every process `user` may signal but PID 1 and itself; the pids still alive after. */
export async function stopProcesses(engine: Engine, id: string, user: string): Promise<number[]> {
  // Killed processes take a moment to die and be reaped by PID 1: look again for up to 2 s,
  // counting zombies as gone.
  const script = `${RUN}
kill -KILL -1 2>/dev/null
for try in {1..20}; do
  left=()
  for p in /proc/[0-9]*; do
    p=\${p#/proc/}
    [ "$p" = 1 ] || [ "$p" = $$ ] || [ ! -r "/proc/$p/stat" ] && continue
    read -r st < "/proc/$p/stat" 2>/dev/null || continue
    st=\${st##*")"}; st=\${st# }
    [ "\${st%% *}" = Z ] || left+=("$p")
  done
  [ \${#left[@]} = 0 ] && break
  kill -KILL -1 2>/dev/null
  run sleep 0.1
done
echo "\${left[@]}"`;
  const r = await engine.exec(id, bash(script), { user });
  return r.stdout
    .split(/\s+/)
    .filter((l) => /^\d+$/.test(l))
    .map(Number);
}

/**
 * End only the OpenCode server of a task container (a separate verifier's: it has no agent), so
 * that its relays to the egress sidecar stay for the verifier. Says whether one was still there.
 */
export async function stopServerOnly(engine: Engine, id: string, user: string): Promise<number[]> {
  const script = `${RUN}
left=()
for try in {1..20}; do
  left=()
  for p in /proc/[0-9]*; do
    p=\${p#/proc/}
    [ "$p" = 1 ] || [ "$p" = $$ ] && continue
    IFS= read -r -d '' argv0 < "/proc/$p/cmdline" 2>/dev/null || continue
    [ "$argv0" = ${PAYLOAD_DIR}/bin/opencode ] || continue
    kill -KILL "$p" 2>/dev/null
    left+=("$p")
  done
  [ \${#left[@]} = 0 ] && break
  run sleep 0.1
done
echo "\${left[@]}"`;
  const r = await engine.exec(id, bash(script), { user });
  return r.stdout
    .split(/\s+/)
    .filter((l) => /^\d+$/.test(l))
    .map(Number);
}

/**
 * Start the agent's loopback relays to the sidecar again (a shared-mode verifier's: stopping the
 * agent ended them with the rest of its processes), one per port, left running detached.
 */
export async function restartRelays(
  engine: Engine,
  id: string,
  user: string,
  ports: number[],
): Promise<void> {
  if (!ports.length) return;
  const script = `${RUN}
for port in "$@"; do
  run socat -lf /dev/null TCP-LISTEN:"$port",bind=127.0.0.1,fork,reuseaddr UNIX-CONNECT:"${SOCKET_DIR}/fwd-$port.sock" < /dev/null > /dev/null 2>&1 &
done
for try in {1..20}; do
  up=0
  for port in "$@"; do (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && up=$((up + 1)); done
  [ "$up" = $# ] && exit 0
  run sleep 0.1
done
exit 1`;
  const r = await engine.exec(id, bash(script, ...ports.map(String)), { user });
  if (r.exitCode !== 0) throw new Error(`the verifier's relays (ports ${ports.join(", ")}) did not come up`);
}

/** Remove paths as root (before an upload: a verifier never finds what the agent left there). */
export async function removePaths(engine: Engine, id: string, paths: string[]): Promise<ExecResult> {
  return engine.exec(
    id,
    bash(`${RUN}; run rm -rf -- "$@"; for p in "$@"; do [ ! -e "$p" ] || exit 1; done`, ...paths),
    {
      user: "0:0",
    },
  );
}

/** Make dirs owned by `owner` (uid:gid), as root. */
export async function makeDirs(engine: Engine, id: string, owner: string, dirs: string[]): Promise<void> {
  const [uid = "0", gid = uid] = owner.split(":");
  const tar = await packDirs(dirs, Number(uid), Number(gid));
  await engine.putArchive(id, "/", tar);
}

async function packDirs(dirs: string[], uid: number, gid: number): Promise<Buffer> {
  const p = tarPack();
  const seen = new Set<string>();
  for (const d of dirs) {
    const parts = d.split("/").filter(Boolean);
    for (let i = 1; i <= parts.length; i++) {
      const name = `${parts.slice(0, i).join("/")}/`;
      if (seen.has(name)) continue;
      seen.add(name);
      const own = i === parts.length || name !== "logs/" ? { uid, gid } : { uid: 0, gid: 0 };
      p.entry({ name, type: "directory", mode: 0o755, mtime: new Date(), ...own });
    }
  }
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/**
 * Extract a tar into `dir` of a running task container. Under gVisor from inside, with the
 * payload's tar as root: gVisor keeps the root filesystem to itself (runsc's exclusive file
 * access), so what the engine's archive API puts there is not seen inside; what runs inside
 * writes through to it, so reading back through the archive API works either way.
 */
export async function putInto(
  engine: Engine,
  id: string,
  dir: string,
  tar: Buffer | NodeJS.ReadableStream,
  inside: boolean,
): Promise<void> {
  if (!inside) return engine.putArchive(id, dir, tar);
  // A Node stream either way (tar-fs's pack is a streamx stream, which the engine cannot pipe).
  const stdin = Readable.from(Buffer.isBuffer(tar) ? [tar] : (tar as AsyncIterable<Buffer>));
  let stderr = "";
  const sink = (keep: boolean) =>
    new Writable({
      write(chunk: Buffer, _enc, done) {
        if (keep && stderr.length < 4096) stderr += chunk.toString("utf8");
        done();
      },
    });
  const argv = [
    ...PAYLOAD_LOADER,
    `${PAYLOAD_DIR}/bin/tar`,
    "-x",
    "-p",
    "--same-owner",
    "-C",
    dir,
    "-f",
    "-",
  ];
  const run = await engine.execAttached(
    id,
    argv,
    { stdin, stdout: sink(false), stderr: sink(true) },
    { user: "0:0" },
  );
  const code = await run.exitCode;
  if (code !== 0)
    throw new Error(`extracting into ${dir} from inside the container exited ${code}: ${stderr.trim()}`);
}

/**
 * Upload a host dir (a task set's tests/ or solution/) to `/<name>` in the container, owned by
 * root, read-only for others. Links in it go in as links (never followed on the host).
 */
export async function uploadDir(
  engine: Engine,
  id: string,
  dir: string,
  name: string,
  inside = false,
): Promise<void> {
  const stream = pack(dir, {
    dereference: false,
    map: (h) => ({
      ...h,
      name: [name, relative(dir, join(dir, h.name)).split(sep).join("/")].filter(Boolean).join("/"),
      uid: 0,
      gid: 0,
      mode: h.type === "directory" ? 0o755 : (h.mode ?? 0o644) & 0o755,
    }),
  });
  await putInto(engine, id, "/", stream as unknown as NodeJS.ReadableStream, inside);
}

export interface ScriptRun {
  exitCode: number | null;
  timedOut: boolean;
  seconds: number;
}

/**
 * Run `bash <script>` (the image's bash, as Harbor does) as `user`, in `cwd`, with `env`, its
 * output into `outputFile`; after `timeoutS` every process of that user is killed.
 */
export async function runScript(
  engine: Engine,
  id: string,
  o: {
    script: string;
    user: string;
    cwd: string;
    env: Record<string, string>;
    timeoutS: number;
    outputFile: string;
  },
): Promise<ScriptRun> {
  const t0 = performance.now();
  // The image's bash, as Harbor runs it; its sh where it has none (busybox images).
  const inner =
    'cd "$1" 2>/dev/null || cd /; if bash -c : 2>/dev/null; then exec bash "$2" > "$3" 2>&1; fi; exec sh "$2" > "$3" 2>&1';
  const exec = engine.exec(id, bash(inner, o.cwd, o.script, o.outputFile), { user: o.user, env: o.env });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), o.timeoutS * 1000)));
  const first = await Promise.race([exec, timeout]);
  clearTimeout(timer);
  if (first === "timeout") {
    await stopProcesses(engine, id, o.user);
    await exec.catch(() => undefined);
    return { exitCode: null, timedOut: true, seconds: (performance.now() - t0) / 1000 };
  }
  return { exitCode: first.exitCode, timedOut: false, seconds: (performance.now() - t0) / 1000 };
}

/** The regular file `path` of the container, its first `cap` bytes; undefined when it is not one. */
export async function readFileOut(
  engine: Engine,
  id: string,
  path: string,
  cap: number,
): Promise<Buffer | undefined> {
  const s = await engine.getArchive(id, path);
  if (!s) return undefined;
  return (await readOneFile(s, path.split("/").pop() ?? "", cap)).bytes;
}

/** reward.txt and reward.json from /logs/verifier, each only as a regular file, capped. */
export async function readRewardFiles(
  engine: Engine,
  id: string,
  cap: number,
): Promise<{ txt?: Buffer | undefined; json?: Buffer | undefined }> {
  const one = async (name: string) => {
    const s = await engine.getArchive(id, `/logs/verifier/${name}`);
    if (!s) return undefined;
    const r = await readOneFile(s, name, cap + 1);
    return r.bytes;
  };
  return { txt: await one("reward.txt"), json: await one("reward.json") };
}
