/**
 * An exec whose stdin and stdout are one byte stream (a relay such as `socat - TCP:…`): the
 * connection ocbox carries over the engine's own API, so nothing has to listen on the engine
 * host's network. Without a TTY (a TTY's line discipline would rewrite bytes) the engine frames
 * stdout and stderr on the hijacked connection; stdout's frames become the stream's readable
 * side, stderr is handed to `onStderr` line by line. Ending the writable side half-closes the
 * connection, which closes the command's stdin.
 */
import { Duplex, PassThrough, Writable } from "node:stream";
import type Docker from "dockerode";
import type { ExecStreamOptions } from "./engine.js";

type Call = <T>(what: string, fn: () => Promise<T>) => Promise<T>;

export async function execStreamDocker(
  docker: Docker,
  call: Call,
  id: string,
  argv: string[],
  options: ExecStreamOptions = {},
): Promise<Duplex> {
  const exec = await call("exec", () =>
    docker.getContainer(id).exec({
      Cmd: argv,
      AttachStdin: true,
      AttachStdout: true,
      AttachStderr: true,
      Tty: false,
      ...(options.user ? { User: options.user } : {}),
      ...(options.env ? { Env: Object.entries(options.env).map(([k, v]) => `${k}=${v}`) } : {}),
    }),
  );
  const socket = await call("exec start", () => exec.start({ hijack: true, stdin: true, Tty: false }));
  const stdout = new PassThrough();
  let pending = "";
  const stderr = new Writable({
    write(chunk: Buffer, _enc, done) {
      const parts = (pending + chunk.toString("utf8")).split("\n");
      pending = parts.pop() ?? "";
      for (const line of parts) options.onStderr?.(line);
      done();
    },
  });
  docker.modem.demuxStream(socket, stdout, stderr);
  socket.once("end", () => {
    if (pending) options.onStderr?.(pending);
    stdout.end();
  });
  const duplex = Duplex.from({ readable: stdout, writable: socket });
  // The connection closed (the exec ended, or the engine connection under it died: an ssh
  // forward killed): the stream closes too once its output is read, or its consumer would wait
  // for a "close" that never comes (the writable side alone keeps a Duplex.from open).
  socket.once("close", () => {
    stdout.end();
    if (duplex.readableEnded) duplex.destroy();
    else duplex.once("end", () => duplex.destroy());
  });
  // Either side gone is the connection gone: the consumer's destroy closes the exec's socket.
  duplex.once("close", () => socket.destroy());
  socket.once("error", (e: Error) => duplex.destroy(e));
  return duplex;
}
