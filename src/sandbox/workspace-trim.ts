/**
 * Copy mode, before the sync back: files over the per-file cap are emptied in the stopped
 * sandbox's workspace volume, so the engine's archive of it never streams them (a `truncate -s
 * 10T` file would stream 10 TiB of zeros). A one-shot container of the sandbox image (no network,
 * read-only root, only the capabilities to read and write the agent's files) runs `find` over the
 * volume; nothing of the agent runs any more. It prints each such file's size and path, which the
 * sync reports as left out (the host keeps its version). The list is the agent's data: a forged
 * line can only leave a file out, never put one in.
 */
import { randomBytes } from "node:crypto";
import { OcboxError } from "../errors.js";
import type { ContainerSpec, Engine } from "../runtime/engine.js";

const AT = "/ocbox-trim";

export function trimContainer(
  image: string,
  volume: string,
  maxFileBytes: number,
  labels: Record<string, string>,
): ContainerSpec {
  return {
    name: `${volume}-trim-${randomBytes(3).toString("hex")}`,
    image,
    labels,
    env: {},
    user: "0:0",
    entrypoint: [
      "find",
      AT,
      "-xdev",
      "-type",
      "f",
      "-size",
      `+${maxFileBytes}c`,
      "-printf",
      "%s\\t%P\\n",
      "-exec",
      "truncate",
      "-s",
      "0",
      "{}",
      "+",
    ],
    networkMode: "none",
    mounts: [{ type: "volume", source: volume, target: AT }],
    tmpfs: {},
    readOnlyRoot: true,
    capDrop: ["ALL"],
    capAdd: ["DAC_OVERRIDE", "DAC_READ_SEARCH"],
    securityOpt: ["no-new-privileges:true"],
    limits: { memoryBytes: 64 * 1024 ** 2, pids: 32 },
    stopTimeout: 2,
    logMaxSize: "10m",
    logMaxFiles: 1,
  };
}

/** Parse the container's lines: `size<TAB>path`. */
export function parseTrimmed(lines: readonly string[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of lines) {
    const m = /^(\d+)\t(.+)$/.exec(line);
    if (m) out.set(m[2] as string, Number(m[1]));
  }
  return out;
}

/** Empty the over-cap files of `volume`; returns them (relative path → apparent size). */
export async function trimOversized(
  engine: Engine,
  input: { image: string; volume: string; maxFileBytes: number; labels: Record<string, string> },
): Promise<Map<string, number>> {
  const id = await engine.createContainer(
    trimContainer(input.image, input.volume, input.maxFileBytes, input.labels),
  );
  try {
    const lines: string[] = [];
    await engine.startContainer(id);
    await engine.followLogs(id, (line) => lines.push(line), AbortSignal.timeout(300_000));
    const state = await engine.containerState(id);
    if (state?.running || state?.exitCode !== 0) {
      throw new OcboxError("UNEXPECTED", "could not check the sandbox's workspace for files over the cap", {
        detail: [`exit code ${state?.exitCode ?? "?"}`, ...lines.slice(-10)].join("\n"),
        fix: "Run the task again; if it keeps failing, report it with this output.",
      });
    }
    return parseTrimmed(lines);
  } finally {
    await engine.removeContainer(id).catch(() => undefined);
  }
}
