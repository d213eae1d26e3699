#!/usr/bin/env node
/**
 * The `ocbox` command's first file. `ocbox --version` (alone) answers here, before the CLI's own
 * code is read and linked: the version is what scripts and health checks ask most often, and it
 * should cost little more than Node's own start (issue 16). Everything else goes to main.ts, the
 * command's one exit point.
 */
import { VERSION_LINE } from "./version-line.js";

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === "--version" || args[0] === "-V")) {
  process.stdout.write(`${VERSION_LINE}\n`);
} else {
  await import("./main.js");
}
