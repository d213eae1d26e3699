/**
 * What a benchmark image offers the injected OpenCode (issue 15, item 3): its libc loader, its
 * USER and WORKDIR, read without running anything of the image (a container is created, never
 * started, its files stat'ed through the archive API, then removed), so it works on any image,
 * with or without a shell.
 */
import { randomBytes } from "node:crypto";
import { posix } from "node:path";
import { pipeline } from "node:stream/promises";
import { PASSWD_MAX_BYTES } from "./passwd.js";
import type { Engine, PathStat } from "../runtime/engine.js";
import { extract } from "tar-stream";
import { LABEL } from "../runtime/labels.js";

export const GLIBC_LOADER = "/lib64/ld-linux-x86-64.so.2";
export const MUSL_LOADER = "/lib/ld-musl-x86_64.so.1";

export interface ImageProbe {
  image: string;
  /** The image's USER ("" = root) and WORKDIR ("" = /). */
  user: string;
  workdir: string;
  glibcLoader: boolean;
  muslLoader: boolean;
  /** Whether `/lib64` exists at all (a payload can be mounted there only when it does not). */
  lib64: boolean;
  /** Whether the image has a bash at /bin/bash or /usr/bin/bash (else the agent's shell is /bin/sh). */
  bash: boolean;
  /**
   * The image's /etc/passwd as text, its first PASSWD_MAX_BYTES (hostile input: parsed by
   * plan/passwd.ts); undefined when it is not a regular file.
   */
  passwd: string | undefined;
}

/** Go's os.ModeSymlink and os.ModeDir, as in the engine's path stat. */
const MODE_SYMLINK = 2 ** 27;

/** Stat `path`, following links (up to 8) the way the kernel would inside the image. */
async function exists(engine: Engine, id: string, path: string): Promise<boolean> {
  let p = path;
  for (let hop = 0; hop < 8; hop++) {
    const st: PathStat | undefined = await engine.pathStat(id, p);
    if (!st) return false;
    if (!(st.mode & MODE_SYMLINK) || !st.linkTarget) return true;
    p = posix.resolve(posix.dirname(p), st.linkTarget);
  }
  return false;
}

export async function probeTaskImage(engine: Engine, image: string): Promise<ImageProbe> {
  const config = await engine.imageConfig(image);
  const id = await engine.createContainer({
    name: `ocbox-probe-${randomBytes(6).toString("hex")}`,
    image,
    labels: { [LABEL.managed]: "true", [LABEL.kind]: "probe" },
    env: {},
    user: "65534:65534",
    entrypoint: ["/ocbox-probe-never-runs"],
    cmd: [],
    networkMode: "none",
    mounts: [],
    tmpfs: {},
    readOnlyRoot: true,
    capDrop: ["ALL"],
    capAdd: [],
    securityOpt: ["no-new-privileges"],
    limits: { pids: 1 },
    stopTimeout: 1,
    logMaxSize: "1m",
    logMaxFiles: 1,
  });
  try {
    return {
      image,
      user: config?.user ?? "",
      workdir: config?.workingDir ?? "",
      glibcLoader: await exists(engine, id, GLIBC_LOADER),
      muslLoader: await exists(engine, id, MUSL_LOADER),
      lib64: (await engine.pathStat(id, "/lib64")) !== undefined,
      bash: (await exists(engine, id, "/bin/bash")) || (await exists(engine, id, "/usr/bin/bash")),
      passwd: await passwdOf(engine, id),
    };
  } finally {
    await engine.removeContainer(id);
  }
}

/** /etc/passwd through the archive API: a regular file only (a link is not followed), capped. */
async function passwdOf(engine: Engine, id: string): Promise<string | undefined> {
  const stream = await engine.getArchive(id, "/etc/passwd");
  if (!stream) return undefined;
  let text: string | undefined;
  const x = extract();
  x.on("entry", (header, body, next) => {
    const chunks: Buffer[] = [];
    let size = 0;
    body.on("data", (data: unknown) => {
      const c = data as Buffer;
      if (size < PASSWD_MAX_BYTES) chunks.push(c.subarray(0, PASSWD_MAX_BYTES - size));
      size += c.length;
    });
    body.on("end", () => {
      if (text === undefined && header.type === "file" && header.name.replace(/^\.\//, "") === "passwd")
        text = Buffer.concat(chunks).toString("utf8");
      next();
    });
  });
  await pipeline(stream, x);
  return text;
}

export type OpencodeRuntime =
  | { kind: "glibc"; why: string }
  | { kind: "glibc-from-payload"; mountAt: "/lib64"; why: string }
  | { kind: "unsupported"; why: string };

/**
 * How the pinned OpenCode (a Bun single-file executable whose interpreter is fixed at
 * /lib64/ld-linux-x86-64.so.2, and which cannot be started through another loader) runs in this
 * image: with the image's own glibc loader, or, where the image has no /lib64 at all (musl and
 * static images), with glibc's loader and libraries from a read-only payload mounted at /lib64.
 * Pure.
 */
export function opencodeRuntime(p: ImageProbe): OpencodeRuntime {
  if (p.glibcLoader) return { kind: "glibc", why: `${GLIBC_LOADER} is in the image` };
  if (!p.lib64)
    return {
      kind: "glibc-from-payload",
      mountAt: "/lib64",
      why: `no /lib64 in the image${p.muslLoader ? " (musl)" : ""}: glibc's loader comes from the payload there`,
    };
  return {
    kind: "unsupported",
    why: `the image has /lib64 without ${GLIBC_LOADER}: there is no free path for the payload's loader`,
  };
}
