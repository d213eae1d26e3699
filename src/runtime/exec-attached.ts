/**
 * An exec with its streams attached, as `docker exec -i` / `-it` does: stdin forwarded and closed
 * on its EOF (so `bash -s` ends), stdout and stderr streamed as they come, the exit code passed
 * back; with a TTY, one raw stream and a resizable terminal.
 */
import type Docker from "dockerode";
import type { AttachedExec, ExecStreams } from "./engine.js";

type Call = <T>(what: string, fn: () => Promise<T>) => Promise<T>;

/**
 * Podman answers a resize with 201 Created where Docker answers 200; dockerode, expecting 200,
 * reports it as an error. It is the resize done.
 */
function podmanCreated(e: unknown): boolean {
  return (e as { statusCode?: number } | undefined)?.statusCode === 201;
}

/** The one resize failure that is expected: the command ended before the resize reached it. */
function endedMeanwhile(e: unknown): boolean {
  const code = (e as { statusCode?: number } | undefined)?.statusCode;
  return code === 404 || code === 409 || (code === 500 && /not running|no such|exited/i.test(String(e)));
}

export async function execAttachedDocker(
  docker: Docker,
  call: Call,
  id: string,
  argv: string[],
  io: ExecStreams,
  options: { user?: string; env?: Record<string, string> },
): Promise<AttachedExec> {
  const tty = io.tty !== undefined;
  const exec = await call("exec", () =>
    docker.getContainer(id).exec({
      Cmd: argv,
      AttachStdin: io.stdin !== undefined,
      AttachStdout: true,
      AttachStderr: true,
      Tty: tty,
      // Engines from API 1.42 on start the terminal at this size; older ones only by the resize
      // below, which a command that reads its size at once can beat (as with `docker exec -t`).
      ...(io.tty ? { ConsoleSize: [io.tty.rows, io.tty.columns] as [number, number] } : {}),
      ...(options.user ? { User: options.user } : {}),
      ...(options.env ? { Env: Object.entries(options.env).map(([k, v]) => `${k}=${v}`) } : {}),
    }),
  );
  const stream = await call("exec start", () =>
    exec.start({ hijack: true, stdin: io.stdin !== undefined, Tty: tty }),
  );
  const ended = new Promise<void>((resolve) => {
    stream.on("end", resolve);
    stream.on("close", resolve);
    // The command may exit before it read all of stdin: the write side fails, the output is whole.
    stream.on("error", () => resolve());
  });
  if (tty) stream.pipe(io.stdout, { end: false });
  else docker.modem.demuxStream(stream, io.stdout, io.stderr);
  const stdin = io.stdin;
  // Piped in, ended by stdin's EOF: the socket's write side closes and the engine closes the
  // command's stdin; the output keeps flowing until the command ends.
  if (stdin) stdin.pipe(stream);
  const resize = async (size: { rows: number; columns: number }) => {
    await exec.resize({ h: size.rows, w: size.columns }).catch((e: unknown) => {
      if (!endedMeanwhile(e) && !podmanCreated(e)) throw e;
    });
  };
  if (io.tty) await resize(io.tty);
  const exitCode = ended.then(async () => {
    stdin?.unpipe(stream);
    const info = await call("exec inspect", () => exec.inspect());
    return info.ExitCode ?? -1;
  });
  return { resize, exitCode };
}
