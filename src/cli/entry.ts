#!/usr/bin/env node
/**
 * The `ocbox` command's first file. `ocbox --version` (alone) answers here, before the CLI's own
 * code is read and linked: the version is what scripts and health checks ask most often, and it
 * should cost little more than Node's own start (issue 16). Everything else goes to main.ts, the
 * command's one exit point.
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { setFlagsFromString } from "node:v8";
import { cacheHome } from "../util/paths.js";
import { enableCompileCache } from "./compile-cache.js";
import { VERSION_LINE } from "./version-line.js";

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === "--version" || args[0] === "-V")) {
  process.stdout.write(`${VERSION_LINE}\n`);
} else {
  // Node's fetch parses HTTP with a WebAssembly build of llhttp. V8 tiers its hot functions up to
  // TurboFan on a background thread, and process.exit waits for that compile: about 80 ms of CPU
  // beside a booting agent, and 55-65 ms between `up --detach`'s last step and its exit (perf
  // showed the thread in ExecuteTurbofanWasmCompilation). The baseline compiler's code parses the
  // few responses a command reads just as well. Set before any module compiles WebAssembly.
  setFlagsFromString("--liftoff-only");
  // The bundle's chunks compile from V8's code cache (compile-cache.ts); set before main loads.
  enableCompileCache(join(cacheHome(), "v8"), dirname(fileURLToPath(import.meta.url)));
  void import("./main.js");
}
