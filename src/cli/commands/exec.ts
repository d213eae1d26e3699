import { StringDecoder } from "node:string_decoder";
import { Writable } from "node:stream";
import type { Command } from "commander";
import { OcboxError } from "../../errors.js";
import { execAttachedInProject } from "../../project/exec.js";
import { openProject } from "../../project/up.js";
import type { ExecStreams } from "../../runtime/engine.js";
import type { Context } from "../context.js";
import { terminalLine } from "../output.js";

/** Bytes into a pipe unchanged (like `docker exec`); onto a terminal, controls escaped. */
function sink(out: NodeJS.WriteStream): NodeJS.WritableStream {
  if (!out.isTTY) return out;
  const decoder = new StringDecoder("utf8");
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      out.write(terminalLine(decoder.write(chunk)));
      done();
    },
    final(done) {
      out.write(terminalLine(decoder.end()));
      done();
    },
  });
}

/** A buffer that collects what the command printed (for --json). */
function collector(): { stream: Writable; text: () => string } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk);
      done();
    },
  });
  return { stream, text: () => Buffer.concat(chunks).toString("utf8") };
}

/**
 * `send` run one call at a time, a call asked for meanwhile run once after it: two resizes in
 * flight reach the engine in either order, and a terminal's `stty rows R cols C` is two resize
 * events. Each run reads the size then, so the last size is the one that stays.
 */
function oneAtATime(send: () => Promise<void>): () => void {
  let running = false;
  let again = false;
  const go = (): void => {
    running = true;
    again = false;
    void send().finally(() => {
      running = false;
      if (again) go();
    });
  };
  return () => {
    if (running) again = true;
    else go();
  };
}

/** An interactive session: raw keys in, the terminal's size forwarded while it runs. */
async function runWithTty(
  start: (streams: ExecStreams) => ReturnType<typeof execAttachedInProject>,
): Promise<number> {
  const size = () => ({ rows: process.stdout.rows || 24, columns: process.stdout.columns || 80 });
  process.stdin.setRawMode(true);
  try {
    const session = await start({
      stdin: process.stdin,
      stdout: process.stdout,
      stderr: process.stderr,
      tty: size(),
    });
    const onResize = oneAtATime(() => session.resize(size()));
    process.stdout.on("resize", onResize);
    try {
      return await session.exitCode;
    } finally {
      process.stdout.off("resize", onResize);
    }
  } finally {
    process.stdin.setRawMode(false);
  }
}

export function registerExec(program: Command, run: (fn: (ctx: Context) => Promise<number>) => void) {
  program
    .command("exec")
    .description(
      "run a command in the project's running sandbox, as the agent's user within its limits; stdin is forwarded, and an interactive terminal gets a TTY",
    )
    .option("-T, --no-tty", "no TTY even on an interactive terminal (output escaped as ocbox's own)")
    .argument("<cmd...>", "the command and its arguments (put -- before options of the command)")
    .action((argv: string[], opts: { tty: boolean }) =>
      run(async (ctx) => {
        if (argv.length === 0)
          throw new OcboxError("USAGE", "no command given", { fix: "ocbox exec -- ls -la" });
        const { project } = await openProject(process.cwd());
        const start = (streams: ExecStreams) =>
          execAttachedInProject(ctx.engine(), project.sandboxId, argv, streams);
        if (ctx.out.json) {
          const [stdout, stderr] = [collector(), collector()];
          const session = await start({ stdin: process.stdin, stdout: stdout.stream, stderr: stderr.stream });
          const exitCode = await session.exitCode;
          ctx.out.result({ exitCode, stdout: stdout.text(), stderr: stderr.text() }, () => []);
          return exitCode;
        }
        if (opts.tty && process.stdin.isTTY && process.stdout.isTTY) return runWithTty(start);
        const session = await start({
          stdin: process.stdin,
          stdout: sink(process.stdout),
          stderr: sink(process.stderr),
        });
        return session.exitCode;
      }),
    );
}
