/**
 * Ctrl+C handling. The first SIGINT/SIGTERM aborts the command's signal: every library call
 * stops and removes what it created. A second one exits at once; the reaper removes whatever was
 * left at the next command or `ocbox clean`.
 */
export function interruptSignal(onFirst: (signal: NodeJS.Signals) => void): AbortSignal {
  const controller = new AbortController();
  const handler = (signal: NodeJS.Signals) => {
    if (!controller.signal.aborted) {
      onFirst(signal);
      controller.abort(new Error(`received ${signal}`));
      return;
    }
    process.stderr.write("forced exit; leftovers are removed by the next ocbox command or `ocbox clean`\n");
    process.exit(130);
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
  process.on("SIGHUP", handler);
  return controller.signal;
}
